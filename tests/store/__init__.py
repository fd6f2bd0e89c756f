"""Tests of ksystui.store (a package, so that its module names cannot clash with other tests)."""
