"""The command-line tests' fixtures: the simulator served on loopback with
ksystui's configuration for it, and a quiet fleet (nodes that answer nothing)."""

from tests.cli.conftest import quiet, served  # noqa: F401  (fixtures)
