"""Live fleet: one monitor per KSYS node, merged snapshots, change sets."""
