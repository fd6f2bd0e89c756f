"""Failure domains (pure): what ``--fail HOST|SITE|KEY=VALUE[,...]`` takes
down, resolved against what the nodes report and the configuration's node
tags.

A disaster is named the way a provider thinks of it: a production host
(``pbrazos``, or its CEC UUID), a site (``customerA``; a PowerVS region such
as ``dal12``, or a workspace), or a failure-domain tag of the configuration
(``city=austin``: every node whose ``tags`` say so). What fails is always a
node's *production* side, the site it is active on now: KSYS recovers a
site as a whole (one unplanned move per node), so a node fails as soon as
one of its production hosts does. A recovery host that runs no production
(``snorlax`` before anyone moved) takes no node down, but it is down: who
would recover onto it cannot (``Failure.idle_hosts``).

A physical host is one host whoever reports it (same CEC UUID): failing it
fails every node that runs its production there. A term is known when some
node reports it (with a scope: one of the scope's own nodes, so a tenant
cannot probe another's names); what it takes down is then the same for
everybody.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ksystui.core.model import Flavour
from ksystui.core.snapshot import NodeSnapshot

EVERYTHING = "every production host"  # what fails when no term is given


class UnknownFailureDomain(ValueError):
    """A ``--fail`` term that names nothing that could fail; the message
    says which and what would be accepted."""


@dataclass(frozen=True)
class FailedNode:
    """One node whose production side fails: it needs an unplanned move."""

    tenant: str
    node: str
    site: str | None  # the site it is active on (None: the node was never read)
    hosts: tuple[str, ...]  # the production hosts that fail (PowerVS: workspaces)
    because: tuple[str, ...]  # the terms that reach it
    host_ids: tuple[str, ...] = ()  # the failed hosts as recovery hosts are known: CEC UUID, else name


@dataclass(frozen=True)
class Failure:
    """What a ``--fail`` names, resolved: the nodes that must recover."""

    terms: tuple[str, ...]  # as given; (EVERYTHING,) when none was
    nodes: tuple[FailedNode, ...]
    # hosts named that run no one's production: they take no tenant down, but
    # whoever would recover onto them cannot (CEC UUID, else name)
    idle_hosts: tuple[str, ...] = ()

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.node for n in self.nodes)

    @property
    def down_hosts(self) -> frozenset[str]:
        """Every failed host (CEC UUID, else name): a recovery onto one of
        them cannot happen, whoever's recovery host it was."""
        return frozenset(h for n in self.nodes for h in n.host_ids) | frozenset(self.idle_hosts)

    def text(self) -> str:
        """``pbrazos, city=austin: 2 nodes fail (3 production hosts)``;
        ``snorlax: no node fails (1 recovery host)``."""
        hosts = sum(len(n.hosts) for n in self.nodes)
        nodes = "no node fails" if not self.nodes else \
            f"{len(self.nodes)} node{'s' if len(self.nodes) != 1 else ''} fail{'s' if len(self.nodes) == 1 else ''}"
        what = [f"{hosts} production host{'s' if hosts != 1 else ''}"] if self.nodes else []
        if self.idle_hosts:
            idle = len(self.idle_hosts)
            what.append(f"{idle} recovery host{'s' if idle != 1 else ''}")
        return f"{', '.join(self.terms)}: {nodes} ({', '.join(what)})"

    def for_tenant(self, tenant: str) -> Failure:
        """Only ``tenant``'s own failed nodes (what a scoped reader is shown)."""
        return Failure(self.terms, tuple(n for n in self.nodes if n.tenant == tenant), self.idle_hosts)


def parse_terms(given: str | Iterable[str]) -> tuple[str, ...]:
    """``"pbrazos, city=austin"`` (or several such) → the terms, in order,
    once each. An empty term (``a,,b``) is a mistake worth saying."""
    texts = [given] if isinstance(given, str) else list(given)
    out: list[str] = []
    for text in texts:
        for raw in text.split(","):
            term = raw.strip()
            if not term:
                raise UnknownFailureDomain(f"--fail {text!r}: an empty name between commas")
            if term.count("=") > 1 or term.startswith("=") or term.endswith("="):
                raise UnknownFailureDomain(f"--fail {term!r}: a tag is written KEY=VALUE (e.g. city=austin)")
            if term not in out:
                out.append(term)
    return tuple(out)


def _active_site(snap: NodeSnapshot) -> str | None:
    active = [s.name for s in snap.sites if (s.sitetype or "").upper() in ("ACTIVE", "HOME")]
    return active[0] if len(active) == 1 else None


@dataclass(frozen=True)
class _Production:
    """A node's production side as the resolver reads it."""

    snap: NodeSnapshot
    site: str | None
    hosts: tuple[str, ...]  # names of its production hosts (PowerVS: its workspaces there)
    uuids: Mapping[str, str]  # production host name -> CEC UUID
    aliases: frozenset[str]  # what names its production site: site name, region

    def ids(self, hosts: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.uuids.get(h, h) for h in hosts)


def _production(snap: NodeSnapshot) -> _Production:
    site = _active_site(snap)
    hosts = sorted({h.name for h in snap.hosts if site is not None and h.site == site})
    uuids = {h.name: h.uuid for h in snap.hosts if h.name in hosts and h.uuid}
    aliases: set[str] = set()
    for s in snap.sites:
        if s.name == site:
            aliases.add(s.name)
            if s.region:
                aliases.add(s.region)
            if snap.flavour is Flavour.POWERVS:
                hosts = sorted({*hosts, *s.workspaces})
    return _Production(snap, site, tuple(hosts), uuids, frozenset(aliases))


def _known_anywhere(snap: NodeSnapshot) -> set[str]:
    """Every host, site, region and workspace name (and host UUID) the node reports."""
    out = {h.name for h in snap.hosts} | {h.uuid for h in snap.hosts if h.uuid}
    for s in snap.sites:
        out.add(s.name)
        out.update(x for x in (s.region, *s.workspaces) if x)
    return out


def resolve_failure(given: str | Iterable[str], snapshots: Iterable[NodeSnapshot],
                    tags: Mapping[str, Mapping[str, str]] | None = None, *, scope: str | None = None) -> Failure:
    """The nodes that ``given`` (``--fail`` terms; none: every production
    host in scope) takes down. ``snapshots``: every configured node's latest
    (an unread node's empty one too); ``tags``: node -> its configured tags.
    A host that runs no production (a recovery host) takes no node down
    but is down all the same (``Failure.idle_hosts``: whoever would recover
    onto it cannot). A term that names nothing, or only a backup site,
    raises :class:`UnknownFailureDomain` naming it."""
    tags = tags or {}
    prods = [_production(s) for s in sorted(snapshots, key=lambda s: (s.tenant, s.node))]
    terms = parse_terms(given) if not isinstance(given, str) or given.strip() else ()
    if not terms:
        return Failure((EVERYTHING,), tuple(
            FailedNode(p.snap.tenant, p.snap.node, p.site, p.hosts, (EVERYTHING,), p.ids(p.hosts))
            for p in prods if scope is None or p.snap.tenant == scope))
    visible = [p for p in prods if scope is None or p.snap.tenant == scope]
    reached: dict[str, tuple[set[str], list[str]]] = {}  # node -> (failed hosts, terms)
    idle: dict[str, None] = {}  # recovery hosts named that run no production (ids, in order)

    def hit(p: _Production, hosts: Iterable[str], term: str) -> None:
        failed, why = reached.setdefault(p.snap.node, (set(), []))
        failed.update(hosts)
        if term not in why:
            why.append(term)

    for term in terms:
        if "=" in term:
            key, _, value = term.partition("=")
            tagged = [p for p in prods if tags.get(p.snap.node, {}).get(key) == value]
            if not any(p in visible for p in tagged):
                raise UnknownFailureDomain(_unknown_tag(key, value, tags, [p.snap.node for p in visible],
                                                        scoped=scope is not None))
            for p in tagged:
                hit(p, p.hosts, term)
            continue
        uuids = {p.uuids[h] for p in visible for h in p.hosts if h in p.uuids and term in (h, p.uuids[h])}
        # a host is the same host by its UUID in every node; a workspace (no UUID) by its name
        named = any(term in p.hosts for p in visible)
        by_host = [p for p in prods if any(h in p.uuids and p.uuids[h] in uuids for h in p.hosts)
                   or (named and term in p.hosts and term not in p.uuids) or (p in visible and term in p.hosts)]
        by_site = [p for p in prods if term in p.aliases] if any(term in p.aliases for p in visible) else []
        if not by_host and not by_site:
            ids = _recovery_host_ids(term, visible)
            if not ids:
                raise UnknownFailureDomain(_unknown(term, visible, scoped=scope is not None))
            idle.update(dict.fromkeys(ids))
            # one of the reader's recovery hosts may run another tenant's production: it fails too, the
            # same for whoever asks
            for p in prods:
                there = [h for h, i in zip(p.hosts, p.ids(p.hosts), strict=True) if i in ids]
                if there:
                    hit(p, there, term)
            continue
        for p in by_host:
            hit(p, [h for h in p.hosts if term == h or (h in p.uuids and p.uuids[h] in uuids)], term)
        for p in by_site:
            hit(p, p.hosts, term)
    return Failure(terms, tuple(
        FailedNode(p.snap.tenant, p.snap.node, p.site, tuple(sorted(reached[p.snap.node][0])),
                   tuple(reached[p.snap.node][1]), p.ids(sorted(reached[p.snap.node][0])))
        for p in prods if p.snap.node in reached), tuple(idle))


def _recovery_host_ids(term: str, visible: Sequence[_Production]) -> list[str]:
    """A host (by name or CEC UUID) that a visible node reports but runs no
    production on: its id(s), CEC UUID else name; [] when ``term`` is no host."""
    found = {h.uuid or h.name for p in visible for h in p.snap.hosts if term in (h.name, h.uuid)}
    return sorted(found)


def _unknown(term: str, visible: Sequence[_Production], *, scoped: bool) -> str:
    if any(term in _known_anywhere(p.snap) for p in visible):
        return (f"--fail {term}: it is not where any node{' of this tenant' if scoped else ''} runs production "
                "now (a backup site does not take a tenant down: name a production host, a recovery host, "
                "a site that is active, or a tag)")
    return (f"--fail {term}: no such production host, site or tag{' in this scope' if scoped else ''} "
            "(a host name or CEC UUID, a site, a PowerVS region or workspace, or KEY=VALUE of the "
            "configuration's node tags)")


def _unknown_tag(key: str, value: str, tags: Mapping[str, Mapping[str, str]], visible_nodes: Sequence[str], *,
                 scoped: bool) -> str:
    seen = tags.items() if not scoped else [(n, t) for n, t in tags.items() if n in visible_nodes]
    values = sorted({t[key] for _, t in seen if key in t})
    if values:
        return f"--fail {key}={value}: no node is tagged so (known {key} values: {', '.join(values)})"
    keys = sorted({k for _, t in seen for k in t})
    known = f" (known tags: {', '.join(keys)})" if keys else " (no node has tags: add tags = { city = \"...\" } " \
                                                              "to a node in the configuration)"
    return f"--fail {key}={value}: no node has a tag {key}{known}"
