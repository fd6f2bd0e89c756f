"""ksystui: a terminal control room for DRaaS providers running IBM VM Recovery Manager DR."""

__version__ = "0.1.0"
