"""Build ksysmgr command lines as argv lists — never shell strings.

Every builder validates the names it is given: a VM or site name can never
smuggle a flag, an ``attr=value`` pair or a second shell word into the
command (KSYS itself does not support names with spaces [S3]). The result is
checked against the same grammar the simulator uses.
"""

from __future__ import annotations

import re

from ksystui.core.ksysmgr.grammar import parse_command

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def check_name(value: str, what: str = "name") -> str:
    if not _NAME.match(value or ""):
        raise ValueError(
            f"invalid {what} {value!r}: use letters, digits, '_', '.', '-' "
            "(no spaces, no leading '-', at most 128 characters)"
        )
    return value


def _argv(*words: str) -> list[str]:
    argv = ["ksysmgr", *words]
    parse_command(argv[1:])  # raises if we ever build something ksysmgr refuses
    return argv


def _flags(timestamps: bool = False, force: bool = False) -> list[str]:
    out = []
    if force:
        out.append("-f")
    if timestamps:
        out.append("-t")
    return out


def build_query(klass: str, *names: str, **attrs: str) -> list[str]:
    for n in names:
        check_name(n)
    extra = [f"{k}={check_name(v, k)}" for k, v in attrs.items()]
    return _argv("query", klass, *names, *extra)


def build_discover_site(site: str, *, verify: bool = False, timestamps: bool = True) -> list[str]:
    words = [*_flags(timestamps), "discover", "site", check_name(site, "site")]
    if verify:
        words.append("verify=yes")
    return _argv(*words)


def build_verify_site(site: str, *, timestamps: bool = True) -> list[str]:
    return _argv(*_flags(timestamps), "verify", "site", check_name(site, "site"))


def build_move_site(
    from_site: str,
    to_site: str,
    *,
    dr_type: str = "planned",
    dr_test: bool = False,
    force: bool = False,
    timestamps: bool = True,
) -> list[str]:
    if dr_type not in ("planned", "unplanned"):
        raise ValueError(f"dr_type must be planned or unplanned, not {dr_type!r}")
    words = [
        *_flags(timestamps, force),
        "move",
        "site",
        f"from={check_name(from_site, 'site')}",
        f"to={check_name(to_site, 'site')}",
    ]
    # "When dr_test=yes, should not give dr_type attribute" [S1]
    words.append("dr_test=yes" if dr_test else f"dr_type={dr_type}")
    return _argv(*words)


def build_cleanup_site(site: str, *, dr_test: bool = False, force: bool = False, timestamps: bool = True) -> list[str]:
    words = [*_flags(timestamps, force), "cleanup", "site", check_name(site, "site")]
    if dr_test:
        words.append("dr_test=yes")
    return _argv(*words)


def build_modify_system(**attrs: str) -> list[str]:
    if not attrs:
        raise ValueError("modify system needs at least one attribute")
    words = ["modify", "system"]
    for key, value in attrs.items():
        check_name(key, "attribute")
        if key == "auto_discovery_time" and not _HHMM.match(value):
            raise ValueError(f"auto_discovery_time must be hh:mm (00:00 to 23:59), not {value!r}")
        if key != "auto_discovery_time":
            check_name(value, key)
        words.append(f"{key}={value}")
    return _argv(*words)


def build_recover_site(site: str, *, timestamps: bool = True) -> list[str]:
    # INFERRED: the reference shows no recover syntax (`recover host_group <hg>` is a guess
    # too); the simulator takes `recover site <site>`
    return _argv(*_flags(timestamps), "recover", "site", check_name(site, "site"))


def build_resync(klass: str, name: str, *, force: bool = False) -> list[str]:
    """``ksysmgr [-f] resync workgroup <workgroup_name>`` [S1] (PowerVS);
    ``resync disk_group <name>`` on-prem (INFERRED)."""
    if klass not in ("workgroup", "disk_group"):
        raise ValueError(f"resync works on a workgroup or a disk_group, not {klass!r}")
    return _argv(*_flags(False, force), "resync", klass, check_name(name, klass))
