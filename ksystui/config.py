"""ksystui's configuration: tenants, their KSYS nodes and how to reach them.

``config.toml`` lives in the XDG config dir (platformdirs) or wherever
``--config`` points. It is validated with pydantic; a mistake is reported
with the file, the line and the key, never as a traceback.

Secrets: a REST token comes from an environment variable, a file, or the OS
keyring. Writing it inline is possible only if the user insists
(``token = "…"``), and then a warning says so. Tokens are ``SecretStr``
values: they never print, and nothing here writes them anywhere. The
database password likewise comes from ``password_env`` or ``password_file``
(inline in the URL: warned about); it is read only when the store is opened
(:func:`database_url`) and lives in that URL, in memory, only.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO

from platformdirs import user_config_path
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ksystui.config_oncall import Duration, NotifyConfig, ServiceConfig

DEFAULT_CONFIG = user_config_path("ksystui") / "config.toml"


class ConfigError(ValueError):
    """A configuration problem, already phrased for the user."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SshConfig(_Model):
    host: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str = "root"
    key_file: Path | None = None
    key_passphrase_env: str | None = None  # for a passphrase-protected key_file
    key_passphrase_file: Path | None = None
    use_agent: bool = False
    known_hosts: Path = Field(default_factory=lambda: Path.home() / ".ssh" / "known_hosts")
    trust_on_first_use: bool = False
    connect_timeout: float = Field(default=10.0, gt=0, le=300)
    command_timeout: float = Field(default=60.0, gt=0, le=3600)
    keepalive_interval: float = Field(default=15.0, gt=0, le=600)

    @model_validator(mode="after")
    def _some_credential(self) -> SshConfig:
        if self.key_file is None and not self.use_agent:
            raise ValueError("give key_file or set use_agent = true")
        return self


class RestConfig(_Model):
    url: str
    instance_id: str
    token_env: str | None = None
    token_file: Path | None = None
    token_keyring: str | None = None  # "service/username" in the OS keyring
    token: SecretStr | None = None  # inline: discouraged, warned about
    ca_file: Path | None = None
    timeout: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not re.match(r"^https://[^\s/]+", v):
            raise ValueError("the DR Automation service URL must start with https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _one_token_source(self) -> RestConfig:
        sources = [s for s in (self.token_env, self.token_file, self.token_keyring, self.token) if s is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of token_env, token_file, token_keyring (or, discouraged, token)")
        return self


TAG_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,39}$")
# a value is written after KEY= in `plan disaster --fail KEY=VALUE,...`: no comma, no "=", no blank ends
TAG_VALUE = re.compile(r"^[^\s,=](?:[^,=]{0,62}[^\s,=])?$")
MAX_TAGS = 16


class DedicatedHostConfig(_Model):
    """A PowerVS dedicated host the node's DR workspace runs on, as the
    provider knows it: PowerVS KSYS has no ``query host``, so its size comes
    from here (what the capacity check and the planner size it by)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    site: str = Field(min_length=1, description="the KSYS site whose workspace the host serves, e.g. WDC")
    memory_gb: float = Field(gt=0)
    processors: float = Field(gt=0)
    uuid: str | None = None  # the host's id where known: two tenants' nodes naming one host share it


class NodeConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    flavour: Literal["onprem", "powervs"] = "onprem"
    ssh: SshConfig
    rest: RestConfig | None = None
    poll_interval: float | None = Field(default=None, gt=0, le=3600)
    # failure-domain tags of the node's production site, e.g. { city = "austin", power = "grid-2" }:
    # `ksystui plan disaster --fail city=austin` fails every node tagged so
    tags: dict[str, str] = {}
    # PowerVS: the dedicated hosts of its DR workspace, with their size (an on-prem node's hosts print theirs)
    dedicated_hosts: list[DedicatedHostConfig] = []

    @model_validator(mode="after")
    def _dedicated_hosts_are_powervs(self) -> NodeConfig:
        if self.dedicated_hosts and self.flavour != "powervs":
            raise ValueError("dedicated_hosts are a PowerVS node's: an on-prem node's hosts print their size "
                             "in ksysmgr query host")
        names = [h.name for h in self.dedicated_hosts]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"dedicated_hosts: {twice} is named twice")
        return self

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: dict[str, str]) -> dict[str, str]:
        if len(v) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} tags per node")
        for key, value in v.items():
            if not TAG_KEY.match(key):
                raise ValueError(f"tag {key!r}: a tag's name starts with a letter and holds letters, digits, "
                                 "'_' or '-' (e.g. city)")
            if not TAG_VALUE.match(value):
                raise ValueError(f"tag {key} = {value!r}: a tag's value is 1 to 64 characters, without ',' or '=' "
                                 "and not starting or ending with a space (it is written as "
                                 f"--fail {key}=VALUE)")
        return v


class TenantConfig(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    priority: int = Field(ge=1, description="agreement priority: 1 is served first")
    tier: str = "standard"
    rto: Duration | None = None  # agreed recovery time objective, e.g. "30m"
    rpo: Duration | None = None  # agreed recovery point objective, e.g. "15m"
    nodes: list[NodeConfig] = Field(min_length=1)


class PollConfig(_Model):
    interval: float = Field(default=10.0, gt=0, le=3600, description="seconds between polls of one node")
    jitter: float = Field(default=0.1, ge=0, le=0.5, description="fraction of the interval")
    event_retention_days: int = Field(default=30, ge=1, le=3650)


class UiConfig(_Model):
    theme: Literal["dark", "light", "high-contrast"] = "dark"
    bell: bool = True  # ring the terminal bell on a new critical event
    keys: dict[str, str] = {}  # action id -> key, e.g. "view.filter" = "f"


class DatabaseConfig(_Model):
    url: str | None = None  # default: SQLite in the XDG data dir
    password_env: str | None = None  # the password of the url's user, for PostgreSQL
    password_file: Path | None = None

    @field_validator("url")
    @classmethod
    def _a_url(cls, v: str | None) -> str | None:
        if v is not None:
            backend = _parse_url(v).get_backend_name()
            url = _parse_url(v)
            if backend not in STORE_BACKENDS:
                raise ValueError(f"{backend}: ksystui's store runs on SQLite or PostgreSQL "
                                 "(sqlite:///PATH or postgresql+psycopg://USER@HOST:5432/DB)")
            if backend == "sqlite" and url.database in (None, "", ":memory:"):
                raise ValueError("an in-memory SQLite database is gone when its connection closes: "
                                 "give a file (sqlite:///PATH)")
        return v

    @field_validator("password_env", "password_file")
    @classmethod
    def _one_password_source(cls, v: object, info: ValidationInfo) -> object:
        url = info.data.get("url")
        if v is None:
            return v
        if url is None:
            raise ValueError("a password is for a database url: give url too")
        if info.field_name == "password_file" and info.data.get("password_env") is not None:
            raise ValueError("give password_env or password_file, not both")
        if _parse_url(url).password is not None:
            raise ValueError("the url has a password written in it already: take it out of the url")
        return v

    def has_inline_password(self) -> bool:
        return self.url is not None and _parse_url(self.url).password is not None

    def __repr_args__(self) -> Any:
        # a password written in the url never reaches a repr (nor a log line made from one)
        for name, value in super().__repr_args__():
            yield name, _parse_url(value).render_as_string() if name == "url" and value else value


STORE_BACKENDS = ("sqlite", "postgresql")


def _parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL (e.g. postgresql+psycopg://USER@HOST:5432/DB)") from None


class Config(_Model):
    tenants: list[TenantConfig] = Field(min_length=1)
    database: DatabaseConfig = DatabaseConfig()
    poll: PollConfig = PollConfig()
    ui: UiConfig = UiConfig()
    service: ServiceConfig = ServiceConfig()
    notify: list[NotifyConfig] = []

    @model_validator(mode="after")
    def _unique(self) -> Config:
        broken = whole_file_rule([(t.name, [(n.name, n.flavour, n.rest is not None) for n in t.nodes])
                                  for t in self.tenants])
        if broken is not None:
            raise ValueError(broken.message)
        names = [h.name for h in self.notify]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise ValueError(f"notify: two hooks are named {twice!r}")
        known = {t.name for t in self.tenants}
        for hook in self.notify:
            unknown = [t for t in hook.tenants if t not in known]
            if unknown:
                raise ValueError(f"notify {hook.name}: no tenant named {unknown[0]!r} is configured")
        return self

    def nodes(self) -> list[tuple[TenantConfig, NodeConfig]]:
        return [(t, n) for t in self.tenants for n in t.nodes]

    def tenant(self, name: str) -> TenantConfig | None:
        return next((t for t in self.tenants if t.name == name), None)

    def node_tags(self) -> dict[str, dict[str, str]]:
        """node -> its failure-domain tags (nodes without tags left out)."""
        return {n.name: dict(n.tags) for _, n in self.nodes() if n.tags}


Loc = tuple[str | int, ...]  # a pydantic location: ("tenants", 0, "nodes", 1, "name")


@dataclass(frozen=True)
class BrokenRule:
    """A rule over the whole file, broken at ``loc`` (the second of two
    entries with one name: ``first`` is where the first one is)."""

    loc: Loc
    message: str
    first: Loc | None = None


def whole_file_rule(tenants: list[tuple[str, list[tuple[str, str, bool]]]]) -> BrokenRule | None:
    """The first rule over the whole file that ``tenants`` (each: its name and
    its nodes' name, flavour and whether it has a REST table) breaks, or None."""
    tenant_seen: dict[str, int] = {}
    for i, (name, _) in enumerate(tenants):
        if name in tenant_seen:
            return BrokenRule(("tenants", i, "name"), f"tenant {name!r} is listed twice",
                              ("tenants", tenant_seen[name], "name"))
        tenant_seen[name] = i
    node_seen: dict[str, Loc] = {}
    for i, (_, nodes) in enumerate(tenants):
        for j, (name, flavour, has_rest) in enumerate(nodes):
            loc: Loc = ("tenants", i, "nodes", j, "name")
            if name in node_seen:
                return BrokenRule(loc, f"node {name!r} is listed twice", node_seen[name])
            node_seen[name] = loc
            if flavour == "onprem" and has_rest:
                return BrokenRule(("tenants", i, "nodes", j, "rest"),
                                  f"node {name!r}: only PowerVS nodes have a DR Automation REST service")
    return None


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    warnings: tuple[str, ...]
    text: str = ""  # the file as read: where a setting is written (``where``)

    def where(self, *loc: str | int) -> str:
        """``file:line: dotted.key``, naming a setting for a message (the
        line of its key when the file writes it, else of its table; just
        the file when neither is written)."""
        line = locate(self.text, loc) if self.text else None
        dotted = ".".join(str(p) for p in loc)
        return f"{self.path}:{line}: {dotted}" if line else f"{self.path}: {dotted}"


def load_config(path: Path | None = None) -> LoadedConfig:
    p = Path(path) if path else DEFAULT_CONFIG
    try:
        with p.open("rb") as f:  # bounded: /dev/zero is a path too
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: no configuration file (create one, or try `ksystui demo` / `ksystui sim --state-dir DIR`)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{p}: more than {MAX_CONFIG_BYTES // 1_000_000} MB: not a configuration file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: not UTF-8 text (byte {exc.start + 1})") from None
    return parse_config(text, p)


def load_config_and_warn(path: Path | None, warnings_to: TextIO) -> LoadedConfig:
    """``load_config``, printing each warning as ``warning: …`` on
    ``warnings_to``: the one place a process says what is wrong with its
    configuration short of an error."""
    loaded = load_config(path)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=warnings_to)
    return loaded


MAX_CONFIG_BYTES = 2_000_000  # a thousand tenants fit in far less
MAX_NESTING = 32  # brackets and braces open at once; ksystui's own keys nest three deep


def parse_config(text: str, path: Path) -> LoadedConfig:
    too_deep = _too_deep(text)
    if too_deep is not None:
        raise ConfigError(f"{path}:{too_deep}: values nested more than {MAX_NESTING} deep: "
                          "not a ksystui configuration")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_error(str(exc), text, path)) from None
    except RecursionError:  # nesting the scan above did not see (it is a guard, not a parser)
        raise ConfigError(f"{path}: values nested too deep: not a ksystui configuration") from None
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        message = _message(err["msg"])
        if not loc:  # a rule over the whole file: say which entry breaks it, and where the first one is
            broken = whole_file_rule(_raw_tenants(data))
            if broken is not None:
                loc = broken.loc
                first = locate(text, broken.first) if broken.first else None
                message += f" (first at line {first})" if first else ""
        line = locate(text, loc)
        where = f"{path}:{line}" if line else str(path)
        key = f"{_dotted(loc, data)}: " if loc else ""
        more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
        raise ConfigError(f"{where}: {key}{message}{more}") from None
    warnings = []
    base = path.parent
    resolved = []
    for t in cfg.tenants:
        nodes = []
        for n in t.nodes:
            if n.rest is not None and n.rest.token is not None:
                warnings.append(
                    f"{path}: node {n.name}: the REST token is written inline in the file; "
                    "prefer token_env, token_file or token_keyring"
                )
            nodes.append(_relative_paths(n, base))
        resolved.append(t.model_copy(update={"nodes": nodes}))
    if cfg.database.has_inline_password():
        warnings.append(
            f"{path}: database: the password is written inline in the url; prefer password_env or password_file"
        )
    database = cfg.database.model_copy(update={"password_file": _relative(cfg.database.password_file, base)})
    hooks = [_relative_hook(h, base) for h in cfg.notify]
    cfg = cfg.model_copy(update={"tenants": resolved, "database": database, "notify": hooks})
    return LoadedConfig(cfg, path, tuple(warnings), text)


_TOML_PLACE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml_error(message: str, text: str, path: Path) -> str:
    """tomllib's message with its place first, as every other problem: ``file:line: what (column N)``."""
    m = _TOML_PLACE.search(message)
    if m:
        return f"{path}:{m.group(1)}: {message[: m.start()]} (column {m.group(2)})"
    if message.endswith("(at end of document)"):
        return f"{path}:{max(1, len(text.splitlines()))}: {message.removesuffix(' (at end of document)')} " \
               "(at the end of the file)"
    return f"{path}: {message}"


def _raw_tenants(data: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """The tenants of a file whose every field validated, as ``whole_file_rule`` reads them."""
    return [(t["name"], [(n["name"], n.get("flavour", "onprem"), n.get("rest") is not None) for n in t["nodes"]])
            for t in data["tenants"]]


def _too_deep(text: str) -> int | None:
    """The line where brackets or braces nest deeper than ``MAX_NESTING``
    (None: they never do). A guard against a file built to exhaust the
    parser's recursion, not a parser: it skips strings and comments."""
    depth = 0
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif c in "\"'":
            quote = c * 3 if text.startswith(c * 3, i) else c
            j = i + len(quote)
            while j < n and not text.startswith(quote, j):
                if c == '"' and text[j] == "\\":
                    j += 1
                elif len(quote) == 1 and text[j] == "\n":
                    break  # an unterminated string: the parser will say so
                j += 1
            line += text.count("\n", i, j)
            i = j + len(quote) if text.startswith(quote, j) else j
            continue
        elif c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _relative(p: Path | None, base: Path) -> Path | None:
    """Paths in the file are relative to the file, as a user expects."""
    if p is None:
        return None
    p = p.expanduser()
    return p if p.is_absolute() else base / p


def _relative_paths(node: NodeConfig, base: Path) -> NodeConfig:
    def fix(p: Path | None) -> Path | None:
        return _relative(p, base)

    ssh = node.ssh.model_copy(update={
        "key_file": fix(node.ssh.key_file),
        "known_hosts": fix(node.ssh.known_hosts),
        "key_passphrase_file": fix(node.ssh.key_passphrase_file),
    })
    rest = node.rest
    if rest is not None:
        rest = rest.model_copy(update={"token_file": fix(rest.token_file), "ca_file": fix(rest.ca_file)})
    return node.model_copy(update={"ssh": ssh, "rest": rest})


def _relative_hook(hook: NotifyConfig, base: Path) -> NotifyConfig:
    """A hook's files are the configuration's neighbours, as node files are;
    a command named with a path too (a bare name is looked up on PATH)."""
    command = hook.command
    if command and "/" in command[0] and not Path(command[0]).is_absolute():
        command = [str(base / command[0]), *command[1:]]
    return hook.model_copy(update={"url_file": _relative(hook.url_file, base),
                                   "routing_key_file": _relative(hook.routing_key_file, base),
                                   "ca_file": _relative(hook.ca_file, base), "command": command})


def _secret(env: str | None, file: Path | None, what: str) -> str | None:
    """A secret from the environment variable ``env`` or the file ``file``
    (without its trailing newline); None when neither is configured. The
    errors name where it should be, never what it is."""
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"environment variable {env} ({what}) is not set")
        return value
    if file:
        try:
            return file.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise ConfigError(f"{file}: cannot read {what}: {exc.strerror}") from None
    return None


def read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """A secret given on a command line as ``--…-env VAR`` or ``--…-file F``
    (the rules of a configured one; None when neither is given)."""
    return _secret(env, file, what)


def resolve_passphrase(ssh: SshConfig) -> str | None:
    """The passphrase of a protected SSH key, or None when it has none."""
    return _secret(ssh.key_passphrase_env, ssh.key_passphrase_file, "SSH key passphrase")


def database_url(db: DatabaseConfig) -> URL | None:
    """The URL the store opens (None: SQLite in the XDG data dir), with the
    password from ``password_env``/``password_file`` put in it: in memory
    only, at the moment the store is opened. Every engine is opened on this."""
    if db.url is None:
        return None
    url = _parse_url(db.url)
    password = _secret(db.password_env, db.password_file, "database password")
    return url if password is None else url.set(password=password)


def resolve_token(rest: RestConfig) -> str:
    """The REST token, from wherever the configuration says it lives."""
    if rest.token is not None:
        return rest.token.get_secret_value()
    value = _secret(rest.token_env, rest.token_file, "REST token")
    if value is not None:
        return value.strip()
    assert rest.token_keyring is not None
    service, _, user = rest.token_keyring.partition("/")
    try:
        import keyring  # optional: only users who keep tokens in the OS keyring need it
    except ImportError:
        raise ConfigError("token_keyring needs the 'keyring' package: pip install keyring") from None
    value = keyring.get_password(service, user or "ksystui")
    if not value:
        raise ConfigError(f"no REST token in the OS keyring for {rest.token_keyring}")
    return value


def _message(msg: str) -> str:
    # our own validators raise ValueError; pydantic prefixes those with its class name
    return msg.removeprefix("Value error, ")


def _dotted(loc: tuple, data: dict) -> str:
    """tenants[1].nodes[0].ssh.port, with names where the file gives them."""
    parts: list[str] = []
    cur: object = data
    for item in loc:
        if isinstance(item, int):
            name = cur[item].get("name") if isinstance(cur, list) and item < len(cur) and isinstance(
                cur[item], dict) else None
            parts[-1] += f"[{name!r}]" if name else f"[{item}]"
            cur = cur[item] if isinstance(cur, list) and item < len(cur) else None
        else:
            parts.append(str(item))
            cur = cur.get(item) if isinstance(cur, dict) else None
    return ".".join(parts)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def locate(text: str, loc: tuple) -> int | None:
    """The 1-based line of the TOML key at pydantic location ``loc`` (best
    effort: tables and arrays of tables as ksystui's files use them)."""
    want_path = [p for p in loc if isinstance(p, str)]
    want_idx = [p for p in loc if isinstance(p, int)]
    counters: dict[str, int] = {}
    current: list[str] = []
    current_idx: list[int] = []
    best: int | None = None
    for no, line in enumerate(text.splitlines(), start=1):
        m = _HEADER.match(line)
        if m:
            name = m.group(2)
            current = name.split(".")
            if m.group(1) == "[[":
                # a new element of an array of tables resets the counters below it
                counters[name] = counters.get(name, -1) + 1
                for counted in list(counters):
                    if counted.startswith(name + "."):
                        del counters[counted]
            current_idx = [counters.get(".".join(current[: i + 1]), -1) for i in range(len(current))]
            current_idx = [i for i in current_idx if i >= 0]
            if current == want_path[: len(current)] and current_idx == want_idx[: len(current_idx)]:
                best = no
                if current == want_path:
                    return no
            continue
        k = _KEY.match(line)
        if k and current + [k.group(1)] == want_path and current_idx == want_idx[: len(current_idx)]:
            return no
        if k and not current and [k.group(1)] == want_path[:1]:
            best = best or no
    return best
