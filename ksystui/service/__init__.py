"""The provider service (``ksystui serve``): the one process that talks to
KSYS nodes, on the database every console reads. See ``serve.py``."""
