"""The ksysmgr command line: flags, ACTION and CLASS words with their aliases,
``attr=value`` arguments.

One grammar serves both sides: the simulator interprets command lines with
:func:`parse_command`, and ksystui's builders (``commands.py``) produce argv
lists that this grammar accepts, so the two cannot drift apart.

Sourced facts (ksys-reference §1.1): ACTION and CLASS are case-insensitive,
NAME/ATTR/VALUE case-sensitive; ``*`` in an alias means "any suffix"; flags
``-a -f -h -i -l -t -v``. Aliases of hmc/host/host_group/storage_agent/
disk_pair/version and of verify/recover/report are INFERRED.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ksystui.core.ksysmgr.errors import KsysmgrUsageError

RC_SUCCESS = 0
RC_ERROR = 1
RC_NOT_FOUND = 2
RC_MISSING_INPUT = 3
RC_INCORRECT_INPUT = 4

# canonical ACTION -> alias patterns (a trailing * matches any suffix)
ACTION_ALIASES: dict[str, tuple[str, ...]] = {
    "query": ("q*", "ls", "get", "sh*"),
    "add": ("ad*", "cr*", "make", "mk"),
    "delete": ("de*", "remov*", "rm", "er*"),
    "modify": ("mod*", "ch*", "set", "sets"),
    "restore": ("rest*",),
    "manage": ("man*", "mg"),
    "unmanage": ("unman*", "umg"),
    "discover": ("di*",),
    "move": ("mov*", "mv", "swi*"),
    "pair": ("pair", "map"),
    "refresh": ("ref*",),
    "resync": ("resy*",),
    "update": ("upd*",),
    "cleanup": ("clean*",),
    "verify": ("verif*",),  # INFERRED alias
    "recover": ("recov*",),  # INFERRED
    "report": ("report",),
    "sync": ("sync",),
    "upgrade": ("upgrade",),
    "help": ("help",),
}

CLASS_ALIASES: dict[str, tuple[str, ...]] = {
    "ksyscluster": ("ksysclu*", "clu*", "ksyscl*", "cl"),
    "site": ("sit*",),
    "hmc": ("hmc*",),  # INFERRED
    "host": ("host", "hosts", "serv*", "mach*", "cec*"),  # INFERRED
    "host_group": ("hg", "host_g*"),  # INFERRED
    "vm": ("lp*", "vm*"),
    "storage_agent": ("storage_a*", "sta*", "sa"),  # INFERRED
    "disk_pair": ("dp", "disk_p*"),  # INFERRED
    "disk_group": ("dg", "disk_g*"),
    "disk": ("disk", "disks"),
    "workgroup": ("workg*", "work_g*", "wg"),
    "workspace": ("works*", "work_s*", "ws"),
    "network": ("netw*", "nw", "net_work", "net_w*"),
    "notify": ("rn", "remote_not*", "noti*"),
    "event": ("ev*",),
    "system": ("sys*",),
    "snapshot": ("snap*",),
    "script": ("scr*",),
    "version": ("vers*",),  # INFERRED
    "region": ("regio*",),
    "license": ("license",),
    "filesets": ("filesets",),
}

# Which classes each action takes (the simulator implements a subset; a
# combination outside this table is refused with usage text, as ksysmgr does).
VALID_CLASSES: dict[str, tuple[str, ...]] = {
    "query": (
        "ksyscluster", "site", "hmc", "host", "host_group", "vm", "storage_agent",
        "disk_pair", "disk_group", "disk", "workgroup", "workspace", "notify",
        "event", "system", "snapshot", "version",
    ),
    "add": ("ksyscluster", "site", "hmc", "host", "host_group", "storage_agent", "notify", "snapshot", "script"),
    "delete": ("ksyscluster", "site", "hmc", "host", "host_group", "storage_agent", "notify", "script"),
    "modify": ("ksyscluster", "system", "vm", "workgroup", "notify", "host_group"),
    "restore": ("snapshot",),
    "manage": ("vm", "disk"),
    "unmanage": ("vm", "disk"),
    "discover": ("site", "workgroup", "host_group"),
    "verify": ("site", "host_group", "ksyscluster"),
    "move": ("site", "workgroup", "host_group"),
    "pair": ("host", "workspace", "network"),
    "refresh": ("vm", "workspace"),
    "resync": ("workgroup", "disk_group"),
    "update": ("license",),
    "cleanup": ("site", "workgroup", "host_group"),
    "recover": ("site", "host_group"),
    "report": ("system",),
    "sync": ("ksyscluster",),
    "upgrade": ("filesets",),
}


def _matches(word: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return word.startswith(pattern[:-1])
    return word == pattern


def resolve_alias(word: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """Canonical name for an ACTION or CLASS word (case-insensitive), or None."""
    low = word.lower()
    if low in table:
        return low
    hits = {canon for canon, pats in table.items() if any(_matches(low, p) for p in pats)}
    return hits.pop() if len(hits) == 1 else None


@dataclass(frozen=True)
class KsysmgrCommand:
    action: str | None  # None: bare ``ksysmgr`` or ``ksysmgr -h``
    klass: str | None = None
    names: tuple[str, ...] = ()  # positional words after CLASS
    attrs: tuple[tuple[str, str], ...] = ()  # attr=value, in order given
    force: bool = False  # -f
    timestamps: bool = False  # -t
    verbose: bool = False  # -v
    interactive: bool = False  # -i
    help: bool = False  # -h / -?
    only: tuple[str, ...] = ()  # -a attr,attr
    trace_level: str | None = None  # -l low|max
    raw: tuple[str, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str | None:
        return self.names[0] if self.names else None

    def attr(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.attrs:
            if k == key:
                return v
        return default


def parse_command(argv: list[str] | tuple[str, ...]) -> KsysmgrCommand:
    """Parse the words after ``ksysmgr``. Raises KsysmgrUsageError with the
    exit status ksysmgr gives (3 missing input, 4 incorrect input)."""
    flags: dict[str, object] = {"force": False, "timestamps": False, "verbose": False,
                                "interactive": False, "help": False}
    only: tuple[str, ...] = ()
    trace: str | None = None
    words: list[str] = []
    i = 0
    args = list(argv)
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1 and "=" not in a:
            letters = a[1:]
            # combined short flags such as -ft are accepted, as getopt does
            for j, ch in enumerate(letters):
                if ch == "f":
                    flags["force"] = True
                elif ch == "t":
                    flags["timestamps"] = True
                elif ch == "v":
                    flags["verbose"] = True
                elif ch == "i":
                    flags["interactive"] = True
                elif ch in "h?":
                    flags["help"] = True
                elif ch in "al":
                    rest = letters[j + 1 :]
                    if rest:
                        value = rest
                    else:
                        i += 1
                        if i >= len(args):
                            raise KsysmgrUsageError(
                                RC_MISSING_INPUT, f"ERROR: option -{ch} requires a value", usage_text()
                            )
                        value = args[i]
                    if ch == "a":
                        only = tuple(p.strip() for p in value.split(",") if p.strip())
                        if not only:
                            raise KsysmgrUsageError(
                                RC_MISSING_INPUT, "ERROR: -a requires attribute names", usage_text()
                            )
                    else:
                        if value not in ("low", "max"):
                            raise KsysmgrUsageError(
                                RC_INCORRECT_INPUT,
                                f"ERROR: invalid trace level '{value}' (use low or max)",
                                usage_text(),
                            )
                        trace = value
                    break
                else:
                    raise KsysmgrUsageError(RC_INCORRECT_INPUT, f"ERROR: unknown flag -{ch}", usage_text())
        else:
            words.append(a)
        i += 1

    # the flags every parse result carries; what follows fills in the words
    bare = KsysmgrCommand(
        action=None, force=bool(flags["force"]), timestamps=bool(flags["timestamps"]),
        verbose=bool(flags["verbose"]), interactive=bool(flags["interactive"]),
        help=bool(flags["help"]), only=only, trace_level=trace, raw=tuple(args),
    )
    if not words:
        return bare

    action = resolve_alias(words[0], ACTION_ALIASES)
    if action is None:
        raise KsysmgrUsageError(
            RC_INCORRECT_INPUT, f"ERROR: \"{words[0]}\" is not a valid action.", usage_text()
        )
    if action == "help":
        # ``ksysmgr help ksyscluster`` lists the actions for a class
        klass = resolve_alias(words[1], CLASS_ALIASES) if len(words) > 1 else None
        if len(words) > 1 and klass is None:
            raise KsysmgrUsageError(
                RC_INCORRECT_INPUT, f"ERROR: \"{words[1]}\" is not a valid class.", usage_text()
            )
        return replace(bare, action="help", klass=klass)
    if len(words) < 2:
        if bare.help:
            return replace(bare, action=action)
        raise KsysmgrUsageError(
            RC_MISSING_INPUT, f"ERROR: a class is required for action \"{action}\".", usage_text(action)
        )
    klass = resolve_alias(words[1], CLASS_ALIASES)
    if klass is None or klass not in VALID_CLASSES.get(action, ()):
        raise KsysmgrUsageError(
            RC_INCORRECT_INPUT,
            f"ERROR: \"{words[1]}\" is not a valid class for action \"{action}\".",
            usage_text(action),
        )
    names: list[str] = []
    attrs: list[tuple[str, str]] = []
    for w in words[2:]:
        if "=" in w:
            key, _, value = w.partition("=")
            if not key:
                raise KsysmgrUsageError(
                    RC_INCORRECT_INPUT, f"ERROR: malformed attribute \"{w}\"", usage_text(action, klass)
                )
            attrs.append((key, value))
        elif attrs:
            # a bare word after attributes is a syntax error in ksysmgr
            raise KsysmgrUsageError(
                RC_INCORRECT_INPUT,
                f"ERROR: unexpected \"{w}\" after attributes",
                usage_text(action, klass),
            )
        else:
            names.append(w)
    return replace(bare, action=action, klass=klass, names=tuple(names), attrs=tuple(attrs))


# --- usage texts -------------------------------------------------------------
# Verbatim where ksys-reference shows the block (move site, modify system,
# cleanup); other blocks follow the same shape (INFERRED).

_ALIAS_LINE = {
    "query": "query => q*, ls, get, sh*",
    "add": "add => ad*, cr*, make, mk",
    "delete": "delete => de*, remove, rm, erase",
    "modify": "modify => mod*, ch*, set",
    "discover": "discover => di*",
    "move": "move => mov*, mv, swi*",
    "cleanup": "cleanup => clean*",
    "pair": "pair => map",
    "resync": "resync => resy*",
    "manage": "manage => man*, mg",
    "unmanage": "unmanage => unman*, umg",
    "refresh": "refresh => ref*",
}

_CLASS_ALIAS_LINE = {
    "site": "site => sit*",
    "vm": "vm => lp*, vm*",
    "system": "system => sys*",
    "workgroup": "workgroup => workg*, work_g*, wg",
    "disk_group": "disk_group => dg, disk_g*",
    "event": "event => ev*",
    "notify": "notify => rn, remote_not*, noti*",
    "ksyscluster": "ksyscluster => ksysclu*, clu*",
}

_USAGE: dict[tuple[str, str], str] = {
    ("move", "site"): (
        "ksysmgr [-f] move site\n"
        "      from=<sitename>\n"
        "      to=<sitename>\n"
        "      [force=<true|false>]\n"
        "      [dr_type=<planned|unplanned>]\n"
        "      [dr_test=<yes|no>]\n"
        "    move => mov*, mv, swi*\n"
        "    site => sit*\n"
        "\n"
        "Note: dr_type=planned is the default\n"
        "      When dr_test=yes, should not give dr_type attribute\n"
    ),
    ("modify", "system"): (
        " ksysmgr modify system\n"
        "       [auto_discovery_time=<hh:mm>]\n"
        "               hh - hour:   00 to 23\n"
        "               mm - minute: 00 to 59\n"
        "       [lose_vios_redundancy=<yes | no>]\n"
        "       [auto_reverse_mirror=<yes | no>]\n"
        "       [notification_level=<low | medium | high | disable>]\n"
        "       [dup_event_processing=<yes | no>]\n"
        "       [replication_type=<async | sync>   sites=<A,B>]\n"
        "     modify => ch*, sets\n"
        "     system => sys*\n"
    ),
    ("query", "vm"): (
        "ksysmgr query vm [vmname1|lparuuid1...]\n"
        "      [state=manage|unmanage]\n"
        "    query => q*, ls, get, sh*\n"
        "    vm => lp*, vm\n"
    ),
    ("query", "event"): (
        "ksysmgr query event [type=<error|warning|info>]\n"
        "    query => q*, ls, get, sh*\n"
        "    event => ev*\n"
    ),
    ("query", "system"): (
        "ksysmgr query system [ properties | status ]\n"
        "    query => q*, ls, get, sh*\n"
        "    system => sys*\n"
    ),
    ("discover", "site"): (
        "ksysmgr [-t] discover site <sitename>\n"
        "      [verify=<yes|no>]\n"
        "    discover => di*\n"
        "    site => sit*\n"
    ),
    ("verify", "site"): (
        "ksysmgr [-t] verify site <sitename>\n"
        "    site => sit*\n"
    ),
    ("cleanup", "site"): (
        "ksysmgr [-f] cleanup site <sitename>\n"
        "      [dr_test=<yes>]\n"
        "    cleanup => clean*\n"
        "    site => sit*\n"
    ),
    ("cleanup", "workgroup"): (
        "ksysmgr [-f] cleanup workgroup <name>\n"
        "      dr_test=<yes>\n"
        "      [force=<true|false>]\n"
        "    cleanup => clean*\n"
        "    workgroup => workg*, work_g*, wg\n"
    ),
    ("move", "workgroup"): (
        "ksysmgr [-f] move workgroup <name>\n"
        "      to=<site_name>\n"
        "      [force=<true|false>]\n"
        "      [dr_type=<planned|unplanned>]\n"
        "      [dr_test=<yes|no>]\n"
        "    move => mov*, mv, swi*\n"
        "    workgroup => workg*, work_g*, wg\n"
    ),
    ("resync", "workgroup"): (
        "ksysmgr [-f] resync workgroup <workgroup_name>\n"
        "    resync => resy*\n"
        "    workgroup => workg*, work_g*, wg\n"
    ),
    ("pair", "host"): (
        "ksysmgr pair host <active_site_host>\n"
        "      pair=<backup_site_host | none>\n"
        "    pair => map\n"
    ),
}

_GENERAL_USAGE = (
    "ksysmgr [-v] [-f] [-l {low|max}] [-i] \n"
    "[-a {<ATTR#1>,<ATTR#2>,...}] <ACTION> <CLASS> [<NAME>]\n"
    "[-h | <ATTR#1>=<VALUE#1> <ATTR#2>=<VALUE#2> ...]\n"
    "\n"
    "         ACTION={add|modify|delete|query|manage|unmanage|discover|verify|move|cleanup|...}\n"
    "         CLASS={ksyscluster|site|hmc|host|host_group|vm|storage_agent|disk_pair|disk_group|event|notify|system|...}\n"
    "\n"
    "ksysmgr {-h|-?} [-v] [<ACTION> [<CLASS>]]\n"
    "\n"
    "ksysmgr [-v] help\n"
)


def usage_text(action: str | None = None, klass: str | None = None) -> str:
    """The help text ksysmgr prints for a command (or the general usage)."""
    if action and klass and (action, klass) in _USAGE:
        return _USAGE[(action, klass)]
    if action and klass:
        lines = [f"ksysmgr {action} {klass} [<NAME>] [<ATTR>=<VALUE> ...]"]
        if action in _ALIAS_LINE:
            lines.append("    " + _ALIAS_LINE[action])
        if klass in _CLASS_ALIAS_LINE:
            lines.append("    " + _CLASS_ALIAS_LINE[klass])
        return "\n".join(lines) + "\n"
    if action:
        classes = "|".join(VALID_CLASSES.get(action, ()))
        text = f"ksysmgr {action} {{{classes}}} [<NAME>] [<ATTR>=<VALUE> ...]\n"
        if action in _ALIAS_LINE:
            text += "    " + _ALIAS_LINE[action] + "\n"
        return text
    return _GENERAL_USAGE


def actions_for_class(klass: str) -> list[str]:
    return [a for a, classes in VALID_CLASSES.items() if klass in classes]
