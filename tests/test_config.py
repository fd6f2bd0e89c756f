"""Every way config.toml can be wrong says where, as ``file:line: key:
message`` (or ``file: message`` for a rule over the whole file), never a
traceback; and every way a secret can be missing says which and where."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

import pytest

from ksystui import config as config_module
from ksystui.config import (
    ConfigError,
    database_url,
    load_config,
    load_config_and_warn,
    parse_config,
    resolve_passphrase,
    resolve_token,
)

FILE = Path("/etc/ksystui/config.toml")
ONE_NODE = """\
[[tenants]]
name = "customerA"
priority = 1
[[tenants.nodes]]
name = "nodeA"
[tenants.nodes.ssh]
host = "10.0.0.1"
key_file = "id_ed25519"
"""
POWERVS = ONE_NODE.replace('name = "nodeA"', 'name = "nodeA"\nflavour = "powervs"')
REST = '[tenants.nodes.rest]\nurl = "https://dr.example.com/"\ninstance_id = "i-1"\n'


def problem(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, FILE)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- reading the file ---------------------------------------------------------------------
def test_a_missing_file_says_how_to_get_one(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no configuration file") as caught:
        load_config(missing)
    assert str(caught.value).startswith(f"{missing}: ") and "ksystui demo" in str(caught.value)


def test_an_unreadable_file_says_why(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)  # a directory
    assert str(caught.value) == f"{tmp_path}: cannot read: Is a directory"


def test_no_path_means_the_xdg_file(tmp_path, monkeypatch):
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", tmp_path / "xdg.toml")
    with pytest.raises(ConfigError, match="xdg.toml: no configuration file"):
        load_config(None)
    (tmp_path / "xdg.toml").write_text(ONE_NODE)
    assert load_config(None).path == tmp_path / "xdg.toml"


def test_bad_toml_names_line_and_column():
    assert problem("[[tenants]\n") == f"{FILE}:1: Expected ']]' at the end of an array declaration (column 10)"
    assert problem('[[tenants]]\nname = "a\n') == f"{FILE}:2: Illegal character '\\n' (column 10)"
    assert problem("[[tenants]]\nname = ") == f"{FILE}:2: Invalid value (at the end of the file)"


# --- what the file says -------------------------------------------------------------------
A = "tenants['customerA']"
NODE = f"{A}.nodes['nodeA']"


@pytest.mark.parametrize("text, expected", [
    ("[poll]\ninterval = 5\n", ": tenants: Field required"),
    ("tenants = []\n", ":1: tenants: List should have at least 1 item after validation, not 0"),
    (ONE_NODE.replace("priority = 1", "priority = 0"), f":3: {A}.priority: Input should be greater than or equal to 1"),
    ('[[tenants]]\nname = "a"\npriority = 1\nnodes = []\n',
     ":4: tenants['a'].nodes: List should have at least 1 item after validation, not 0"),
    (ONE_NODE.replace('"nodeA"', '"node A"'),
     ":5: tenants['customerA'].nodes['node A'].name: String should match pattern '^[A-Za-z0-9][A-Za-z0-9_.\\-]*$'"),
    (ONE_NODE.replace('name = "nodeA"', 'name = "nodeA"\nflavour = "cloud"'),
     f":6: {NODE}.flavour: Input should be 'onprem' or 'powervs'"),
    (ONE_NODE.replace('name = "nodeA"', 'name = "nodeA"\npoll_interval = 0'),
     f":6: {NODE}.poll_interval: Input should be greater than 0"),
    (ONE_NODE + "port = 70000\n", f":9: {NODE}.ssh.port: Input should be less than or equal to 65535"),
    (ONE_NODE + "connect_timeout = 0\n", f":9: {NODE}.ssh.connect_timeout: Input should be greater than 0"),
    (ONE_NODE + "colour = 1\n", f":9: {NODE}.ssh.colour: Extra inputs are not permitted"),
    (ONE_NODE.replace('key_file = "id_ed25519"\n', ""), f":6: {NODE}.ssh: give key_file or set use_agent = true"),
    (POWERVS + REST.replace("https://", "http://") + 'token_env = "T"\n',
     f":11: {NODE}.rest.url: the DR Automation service URL must start with https://"),
    (POWERVS + REST, f":10: {NODE}.rest: give exactly one of token_env, token_file, token_keyring "
                     "(or, discouraged, token)"),
    (POWERVS + REST + 'token_env = "T"\ntoken_file = "t"\n',
     f":10: {NODE}.rest: give exactly one of token_env, token_file, token_keyring (or, discouraged, token)"),
    (ONE_NODE + "[poll]\njitter = 0.9\n", ":10: poll.jitter: Input should be less than or equal to 0.5"),
    (ONE_NODE + "[poll]\nevent_retention_days = 0\n",
     ":10: poll.event_retention_days: Input should be greater than or equal to 1"),
    (ONE_NODE + '[ui]\ntheme = "pink"\n', ":10: ui.theme: Input should be 'dark', 'light' or 'high-contrast'"),
    (ONE_NODE + "[database]\nurl = 5\n", ":10: database.url: Input should be a valid string"),
])
def test_each_mistake_names_the_line_and_the_key(text, expected):
    assert problem(text) == f"{FILE}{expected}"


@pytest.mark.parametrize("text, expected", [
    (ONE_NODE + ONE_NODE.replace('"nodeA"', '"nodeB"'),
     ":10: tenants['customerA'].name: tenant 'customerA' is listed twice (first at line 2)"),
    (ONE_NODE + ONE_NODE.replace('"customerA"', '"customerB"'),
     ":13: tenants['customerB'].nodes['nodeA'].name: node 'nodeA' is listed twice (first at line 5)"),
    (ONE_NODE + ONE_NODE.replace('"customerA"', '"customerB"').replace('"nodeA"', '"nodeB"')
     + '[[tenants.nodes]]\nname = "nodeA"\n[tenants.nodes.ssh]\nhost = "h"\nuse_agent = true\n',
     ":18: tenants['customerB'].nodes['nodeA'].name: node 'nodeA' is listed twice (first at line 5)"),
    (ONE_NODE + REST + 'token_env = "T"\n',
     ":9: tenants['customerA'].nodes['nodeA'].rest: node 'nodeA': only PowerVS nodes have a DR Automation REST "
     "service"),
], ids=["tenant twice", "node twice", "node twice in one tenant's second node", "rest on an on-prem node"])
def test_a_rule_over_the_whole_file_names_the_line_that_breaks_it(text, expected):
    """Issue 16: duplicate tenant or node names had no line number."""
    assert problem(text) == f"{FILE}{expected}"


# --- pathological files -------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("x = " + "[" * 5000 + "]" * 5000, ":1: values nested more than 32 deep: not a ksystui configuration"),
    (ONE_NODE + "[ui.keys]\nx = " + "{a = " * 5000 + "1" + "}" * 5000,
     ":10: values nested more than 32 deep: not a ksystui configuration"),
    ("a = [\n" + "[\n" * 40 + "]\n" * 41, ":33: values nested more than 32 deep: not a ksystui configuration"),
], ids=["arrays 5,000 deep", "inline tables 5,000 deep", "the line where it gets too deep"])
def test_values_nested_thousands_deep_are_refused_with_their_line(text, expected):
    """Issue 16: a TOML value nested 5,000 deep gave a RecursionError."""
    assert problem(text) == f"{FILE}{expected}"


def test_brackets_in_strings_and_comments_are_not_nesting():
    deep = "[" * 100
    text = ONE_NODE.replace('host = "10.0.0.1"', f'host = "10.0.0.1"  # {deep}\nuser = "{deep}"')
    text += f"[ui.keys]\n\"view.{deep}\" = 'x'\n'{deep}' = \"\"\"y{deep}\"\"\"\n"
    assert parse_config(text, FILE).config.tenants[0].nodes[0].ssh.user == deep


def test_a_file_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(ONE_NODE.encode() + b'[ui]\ntheme = "\xff"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:10: not UTF-8 text (byte {len(ONE_NODE) + 15})"


def test_a_huge_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"# " + b"x" * config_module.MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match="more than 2 MB: not a configuration file"):
        load_config(path)
    with pytest.raises(ConfigError, match="/dev/zero: more than 2 MB"):  # endless: read no further than that
        load_config(Path("/dev/zero"))


def test_a_nul_character_is_a_toml_error_with_its_place():
    assert problem(ONE_NODE + 'x = "a\x00b"\n') == f"{FILE}:9: Illegal character '\\x00' (column 7)"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "oracle+oracledb://u@h/db", "mssql://h/db"])
def test_a_database_ksystui_cannot_use_is_refused_with_its_line(url):
    """Issue 16: `mysql://…` was called valid by `config check` and ended in a traceback elsewhere."""
    said = problem(with_database(f'url = "{url}"'))
    assert said.startswith(f"{FILE}:2: database.url: ") and "runs on SQLite or PostgreSQL" in said


def test_loaded_config_names_a_setting_with_its_line(tmp_path):
    loaded = parse_config(with_database(f'url = "{PG}"\npassword_env = "PW"'), tmp_path / "c.toml")
    assert loaded.where("database", "url") == f"{tmp_path / 'c.toml'}:2: database.url"
    assert loaded.where("database", "password_env") == f"{tmp_path / 'c.toml'}:3: database.password_env"
    bare = parse_config(ONE_NODE, tmp_path / "c.toml")
    assert bare.where("database", "url") == f"{tmp_path / 'c.toml'}: database.url"  # not written in the file


def test_several_mistakes_report_the_first_and_count_the_rest():
    text = ONE_NODE.replace("priority = 1", 'priority = "first"') + "port = 0\n"
    assert problem(text) == (f"{FILE}:3: {A}.priority: Input should be a valid integer, unable to parse string "
                             "as an integer (and 1 more problems)")


# --- warnings and paths -------------------------------------------------------------------
def test_an_inline_token_is_warned_about_once_where_the_config_is_loaded(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(POWERVS + REST + 'token = "s3cret"\n')
    err = io.StringIO()
    loaded = load_config_and_warn(path, err)
    assert loaded.warnings == (f"{path}: node nodeA: the REST token is written inline in the file; "
                               "prefer token_env, token_file or token_keyring",)
    assert err.getvalue() == f"warning: {loaded.warnings[0]}\n"
    assert "s3cret" not in repr(loaded.config) and "s3cret" not in err.getvalue()


def test_a_clean_file_warns_nothing(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(ONE_NODE)
    err = io.StringIO()
    assert load_config_and_warn(path, err).warnings == () and err.getvalue() == ""


def test_paths_are_relative_to_the_file_and_tilde_is_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = POWERVS.replace('key_file = "id_ed25519"', 'key_file = "keys/id"\nknown_hosts = "~/kh"\n'
                           'key_passphrase_file = "/abs/pass"') + REST + 'token_file = "tok"\nca_file = "ca.pem"\n'
    node = parse_config(text, tmp_path / "config.toml").config.tenants[0].nodes[0]
    assert node.ssh.key_file == tmp_path / "keys" / "id"
    assert node.ssh.known_hosts == tmp_path / "home" / "kh"
    assert node.ssh.key_passphrase_file == Path("/abs/pass")
    assert node.rest.token_file == tmp_path / "tok" and node.rest.ca_file == tmp_path / "ca.pem"


# --- secrets ------------------------------------------------------------------------------
def ssh_of(extra: str, tmp_path: Path):
    return parse_config(ONE_NODE + extra, tmp_path / "config.toml").config.tenants[0].nodes[0].ssh


def rest_of(source: str, tmp_path: Path):
    return parse_config(POWERVS + REST + source, tmp_path / "config.toml").config.tenants[0].nodes[0].rest


def test_passphrase_from_the_environment(tmp_path, monkeypatch):
    ssh = ssh_of('key_passphrase_env = "KSYSTUI_PASS"\n', tmp_path)
    monkeypatch.delenv("KSYSTUI_PASS", raising=False)
    with pytest.raises(ConfigError) as caught:
        resolve_passphrase(ssh)
    assert str(caught.value) == "environment variable KSYSTUI_PASS (SSH key passphrase) is not set"
    monkeypatch.setenv("KSYSTUI_PASS", "pw")
    assert resolve_passphrase(ssh) == "pw"


@pytest.mark.parametrize("read", [
    lambda tmp: resolve_passphrase(ssh_of('key_passphrase_file = "secret"\n', tmp)),
    lambda tmp: resolve_token(rest_of('token_file = "secret"\n', tmp)),
], ids=["ssh key passphrase", "rest token"])
def test_a_secret_from_a_file(tmp_path, read, request):
    """A missing file is named with what it should hold; the value is read
    without its trailing newline."""
    what = {"ssh key passphrase": "SSH key passphrase", "rest token": "REST token"}[request.node.callspec.id]
    with pytest.raises(ConfigError) as caught:
        read(tmp_path)
    assert str(caught.value) == f"{tmp_path / 'secret'}: cannot read {what}: No such file or directory"
    (tmp_path / "secret").write_text("s3cr3t\n")
    assert read(tmp_path) == "s3cr3t"


def test_no_passphrase_for_an_unprotected_key(tmp_path):
    assert resolve_passphrase(ssh_of("", tmp_path)) is None


def test_token_inline(tmp_path):
    assert resolve_token(rest_of('token = "t0k"\n', tmp_path)) == "t0k"


@pytest.mark.parametrize("value", [None, ""])
def test_token_from_an_unset_or_empty_environment_variable(tmp_path, monkeypatch, value):
    rest = rest_of('token_env = "KSYSTUI_TOKEN"\n', tmp_path)
    if value is None:
        monkeypatch.delenv("KSYSTUI_TOKEN", raising=False)
    else:
        monkeypatch.setenv("KSYSTUI_TOKEN", value)
    with pytest.raises(ConfigError) as caught:
        resolve_token(rest)
    assert str(caught.value) == "environment variable KSYSTUI_TOKEN (REST token) is not set"
    monkeypatch.setenv("KSYSTUI_TOKEN", " t0k\n")
    assert resolve_token(rest) == "t0k"


def test_token_from_the_keyring(tmp_path, monkeypatch):
    rest = rest_of('token_keyring = "ibmcloud"\n', tmp_path)
    monkeypatch.setitem(sys.modules, "keyring", None)  # not installed
    with pytest.raises(ConfigError) as caught:
        resolve_token(rest)
    assert str(caught.value) == "token_keyring needs the 'keyring' package: pip install keyring"
    asked = []
    vault: dict[tuple[str, str], str] = {}
    fake = types.SimpleNamespace(get_password=lambda service, user: asked.append((service, user)) or
                                 vault.get((service, user)))
    monkeypatch.setitem(sys.modules, "keyring", fake)
    with pytest.raises(ConfigError) as caught:
        resolve_token(rest)
    assert str(caught.value) == "no REST token in the OS keyring for ibmcloud"
    vault[("ibmcloud", "ksystui")] = "t0k"  # no user named: ksystui's
    assert resolve_token(rest) == "t0k" and asked[-1] == ("ibmcloud", "ksystui")
    vault[("svc", "ops")] = "t1k"
    assert resolve_token(rest_of('token_keyring = "svc/ops"\n', tmp_path)) == "t1k"


# --- the database password ----------------------------------------------------------------
CANARY = "Canary-cfg-pw-91d0"
PG = "postgresql+psycopg://ops@db.example.com:5432/ksystui"


def with_database(lines: str) -> str:
    return f"[database]\n{lines}\n" + ONE_NODE


@pytest.mark.parametrize("lines, line, key, message", [
    (f'url = "{PG}"\npassword_env = "PW"\npassword_file = "pw"', 4, "database.password_file",
     "give password_env or password_file, not both"),
    (f'url = "{PG.replace("ops@", f"ops:{CANARY}@")}"\npassword_env = "PW"', 3, "database.password_env",
     "the url has a password written in it already: take it out of the url"),
    (f'url = "{PG.replace("ops@", f"ops:{CANARY}@")}"\npassword_file = "pw"', 3, "database.password_file",
     "the url has a password written in it already: take it out of the url"),
    ('password_env = "PW"', 2, "database.password_env", "a password is for a database url: give url too"),
    ('url = "not a url"', 2, "database.url", "not a database URL (e.g. postgresql+psycopg://USER@HOST:5432/DB)"),
], ids=["env and file", "env and inline", "file and inline", "no url", "not a url"])
def test_database_password_mistakes_say_where(lines, line, key, message):
    said = problem(with_database(lines))
    assert said == f"{FILE}:{line}: {key}: {message}"
    assert CANARY not in said


def test_an_inline_database_password_loads_and_is_warned_about(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(with_database(f'url = "{PG.replace("ops@", f"ops:{CANARY}@")}"'))
    err = io.StringIO()
    loaded = load_config_and_warn(path, err)
    assert loaded.warnings == (f"{path}: database: the password is written inline in the url; "
                               "prefer password_env or password_file",)
    assert err.getvalue() == f"warning: {loaded.warnings[0]}\n"
    assert CANARY not in repr(loaded.config) and CANARY not in str(loaded.config.database)
    url = database_url(loaded.config.database)
    assert url is not None and url.password == CANARY and CANARY not in repr(url)


def test_the_database_password_is_read_when_the_url_is_made(tmp_path, monkeypatch):
    """Not at load: the configuration holds where it is, never what it is."""
    monkeypatch.delenv("KSYSTUI_DB_PW", raising=False)
    db = parse_config(with_database(f'url = "{PG}"\npassword_env = "KSYSTUI_DB_PW"'), tmp_path / "c.toml"
                      ).config.database
    with pytest.raises(ConfigError) as caught:
        database_url(db)
    assert str(caught.value) == "environment variable KSYSTUI_DB_PW (database password) is not set"
    monkeypatch.setenv("KSYSTUI_DB_PW", CANARY)
    url = database_url(db)
    assert url is not None and url.password == CANARY and url.username == "ops"
    assert CANARY not in repr(db) and CANARY not in str(url)

    db = parse_config(with_database(f'url = "{PG}"\npassword_file = "secrets/pw"'), tmp_path / "c.toml"
                      ).config.database
    assert db.password_file == tmp_path / "secrets" / "pw"  # relative to the file, like every *_file
    with pytest.raises(ConfigError) as caught:
        database_url(db)
    assert str(caught.value) == f"{tmp_path / 'secrets' / 'pw'}: cannot read database password: No such file or directory"
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pw").write_text(CANARY + "\n")
    url = database_url(db)
    assert url is not None and url.password == CANARY


def test_no_database_url_is_the_default_store():
    assert database_url(parse_config(ONE_NODE, FILE).config.database) is None


# --- agreements and on-call sections ---------------------------------------------------------
ONCALL = """
[service]
metrics_listen = "127.0.0.1:9464"
history_retention = "7d"

[[tenants]]
name = "customerA"
priority = 1
rto = "30m"
rpo = "15m"
[[tenants.nodes]]
name = "n1"
ssh = { host = "127.0.0.1", use_agent = true }

[[notify]]
name = "pager"
kind = "webhook"
format = "pagerduty"
url_env = "PAGER_URL"
routing_key_env = "PAGER_KEY"
tenants = ["customerA"]
timeout = "5s"
"""


def test_agreements_and_on_call_sections_read(tmp_path):
    from datetime import timedelta

    p = tmp_path / "c.toml"
    p.write_text(ONCALL)
    cfg = load_config(p).config
    assert (cfg.tenants[0].rto, cfg.tenants[0].rpo) == (timedelta(minutes=30), timedelta(minutes=15))
    assert cfg.service.metrics_address() == ("127.0.0.1", 9464)
    assert cfg.service.history_retention == timedelta(days=7)
    assert cfg.notify[0].timeout == timedelta(seconds=5) and cfg.notify[0].events[0] == "alert.raised"


@pytest.mark.parametrize(("old", "new", "says"), [
    ('rto = "30m"', 'rto = "30 minutes"', ":9: tenants['customerA'].rto: '30 minutes': not a duration"),
    ('rpo = "15m"', "rpo = 15", ":10: tenants['customerA'].rpo: a duration is a string"),
    ('metrics_listen = "127.0.0.1:9464"', 'metrics_listen = "9464"', ":3: service.metrics_listen: HOST:PORT"),
    ('routing_key_env = "PAGER_KEY"', "", "the pagerduty format needs a routing key"),
    ('tenants = ["customerA"]', 'tenants = ["customerB"]', "no tenant named 'customerB'"),
    ('url_env = "PAGER_URL"', 'command = ["page"]', "needs exactly one of url, url_env or url_file"),
])
def test_a_wrong_agreement_or_hook_names_its_line(tmp_path, old, new, says):
    p = tmp_path / "c.toml"
    assert old in ONCALL
    p.write_text(ONCALL.replace(old, new))
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_config(p)


def test_a_hooks_files_are_the_configurations_neighbours(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(ONCALL.replace('url_env = "PAGER_URL"', 'url_file = "secrets/pager-url"')
                 .replace('routing_key_env = "PAGER_KEY"', 'routing_key_file = "secrets/pager-key"')
                 + '\n[[notify]]\nname = "runbook"\nkind = "exec"\ncommand = ["hooks/page.sh", "-v"]\n')
    hooks = {h.name: h for h in load_config(p).config.notify}
    assert hooks["pager"].url_file == tmp_path / "secrets/pager-url"
    assert hooks["pager"].routing_key_file == tmp_path / "secrets/pager-key"
    assert hooks["runbook"].command == [str(tmp_path / "hooks/page.sh"), "-v"]


def test_a_powervs_node_sizes_its_dedicated_hosts_and_an_onprem_one_is_told_why_not():
    from ksystui.config import ConfigError, parse_config
    from ksystui.fleet.connect import declared_hosts

    def text(flavour: str, hosts: str) -> str:
        return ('[[tenants]]\nname = "customerC"\npriority = 1\n[[tenants.nodes]]\nname = "orch"\n'
                f'flavour = "{flavour}"\n{hosts}[tenants.nodes.ssh]\nhost = "10.0.0.1"\nkey_file = "id"\n')

    one = ('[[tenants.nodes.dedicated_hosts]]\nname = "dh-wdc06-01"\nsite = "WDC"\nmemory_gb = 128\n'
           'processors = 8\n')
    (_, node), = parse_config(text("powervs", ""), Path("/c.toml")).config.nodes()
    assert declared_hosts(node) == ()
    cfg = parse_config(text("powervs", one), Path("/c.toml")).config
    (_, node), = cfg.nodes()
    (host,) = declared_hosts(node)
    assert (host.name, host.uuid, host.site, host.memory_capacity, host.processors) == (
        "dh-wdc06-01", "dedicated-host:dh-wdc06-01", "WDC", "128", "8")
    with pytest.raises(ConfigError, match="dedicated_hosts are a PowerVS node's"):
        parse_config(text("onprem", one), Path("/c.toml"))
    with pytest.raises(ConfigError, match="dh-wdc06-01 is named twice"):
        parse_config(text("powervs", one + one), Path("/c.toml"))
    with pytest.raises(ConfigError, match="memory_gb"):
        parse_config(text("powervs", one.replace("memory_gb = 128", "memory_gb = 0")), Path("/c.toml"))
