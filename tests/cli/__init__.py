"""Tests of the command line (a package, so that its module names cannot clash with other tests)."""
