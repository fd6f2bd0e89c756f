"""Every verb of the command line, as a shell types it, for the tests that run
them all (global options, bad input)."""

from __future__ import annotations

import tempfile
from pathlib import Path

# every verb, as a shell types it (with what it needs to get past its own arguments)
VERBS: dict[str, list[str]] = {
    "console": [],
    "demo": ["demo"],
    "sim": ["sim"],
    "parse": ["parse", "vm"],
    "scenario": ["scenario", "--tenants", "1", "--vms-per-tenant", "1"],
    "status": ["status"],
    "config check": ["config", "check"],
    "submit": ["submit", "verify", "customerA"],
    "queue": ["queue"],
    "cancel": ["cancel", "1"],
    "raise": ["raise", "1", "--reason", "auditor on site"],
    "resolve": ["resolve", "1", "failed", "--reason", "checked the node"],
    "arbiter": ["arbiter"],
    "audit verify": ["audit", "verify"],
    "audit export": ["audit", "export"],
    "schedule plan": ["schedule", "plan"],
    "schedule apply": ["schedule", "apply", "--yes"],
    "db upgrade": ["db", "upgrade"],
    "serve": ["serve"],
    "service status": ["service", "status"],
    "notify test": ["notify", "test", "pager"],
    "report": ["report", "1"],
    "notify log": ["notify", "log"],
    "incident export": ["incident", "export", "--from", "-1h", str(Path(tempfile.gettempdir()) / "ks-incident.db")],
    "replay": ["replay", "--from", "-1h"],
    "plan disaster": ["plan", "disaster"],
}
READS_CONFIG = ["console", "status", "config check", "submit", "queue", "cancel", "raise", "resolve", "arbiter",
                "audit verify", "audit export", "schedule plan", "schedule apply", "db upgrade", "serve", "service status",
                "notify test", "report", "notify log", "incident export", "replay", "plan disaster"]
# verbs that never open the database: a hook can be tested while the database is down
NO_DATABASE = {"notify test"}
