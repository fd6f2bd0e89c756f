"""The simulator served on loopback with ksystui's configuration for it, as the command-line tests have it."""

from tests.cli.conftest import served  # noqa: F401  (a fixture)
