"""The KSYS simulator: SSH + REST servers over an in-memory model of KSYS clusters."""
