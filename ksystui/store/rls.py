"""Tenant isolation enforced by PostgreSQL: a role per tenant and row-level
security on every ksystui table, so a console connected as
``ksystui_tenant_customera`` cannot read another tenant's rows, even with
raw SQL.

``grant_tenant(engine, "customerA")`` (``ksystui db grant-tenant``), in one
transaction, idempotently:

- creates the role ``ksystui_tenant_<tenant lowercased, other characters → _>``
  (NOLOGIN; with a password it may log in, the password sent only as a
  SCRAM verifier computed here), remembers which tenant it is for (a role
  comment: two tenant names that map to one role are refused), and grants it
  to the current user, whose sessions may then ``SET ROLE`` to it
  (``open_engine(url, tenant_role=...)``);
- enables row-level security on every table of the schema and gives the role
  one ``SELECT`` policy per table, chosen by the table's columns:

  ========================  =============================================
  ``tenants``               ``name = tenant``
  a ``tenant`` column       ``tenant = tenant`` (NULL tenant: invisible)
  an ``operation_id``       its operation is the tenant's (claims, progress)
  ``alembic_version``,      visible: no tenant's data, and a console needs
  ``service_lease``         them (schema revision; is a service leading?)
  anything else             ``USING (false)``: audit_head, fence_counter,
                            dispatchers, service_members... (global
                            counters and sequences another tenant's
                            activity could be read from)
  ========================  =============================================

- gives the current user a policy seeing every row (``ksystui_owner_all``), so
  switching row-level security on never hides rows from the provider's own
  login when it does not own the tables;
- grants the role ``SELECT`` on those tables and nothing else: the role reads.

Tables are read from the database's catalog (every table of the current
schema, whatever ksystui version made it), so a new table is covered by the
rule its columns select. The superuser and the tables' owner bypass
row-level security: the provider's own login is unaffected.

On SQLite there are no roles: :func:`grant_tenant` raises :class:`RlsError`
(scoping there is only what the console shows).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import zlib
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

ROLE_PREFIX = "ksystui_tenant_"
OWNER_POLICY = "ksystui_owner_all"
# Tables holding no tenant's data that a tenant console still needs to read.
READABLE_WITHOUT_TENANT = frozenset({"alembic_version", "service_lease"})
_GRANT_LOCK = zlib.crc32(b"ksystui.store.rls.grant_tenant")
_PG_NAME_MAX = 63
_COMMENT = "ksystui tenant "
SCRAM_ITERATIONS = 4096


class RlsError(RuntimeError):
    """Tenant isolation cannot be set up; the message is for the user."""


def role_name(tenant: str) -> str:
    """``customerA`` → ``ksystui_tenant_customera`` (at most 63 characters,
    PostgreSQL's limit: a longer one ends with a checksum of the tenant)."""
    if not tenant.strip():
        raise RlsError("a tenant name is required")
    name = ROLE_PREFIX + re.sub(r"[^a-z0-9]", "_", tenant.lower())
    if len(name) > _PG_NAME_MAX:
        name = f"{name[:_PG_NAME_MAX - 9]}_{zlib.crc32(tenant.encode()):08x}"
    return name


def as_role(tenant_or_role: str) -> str:
    """The role for a tenant name; a name that is a role already stays as is."""
    return tenant_or_role if tenant_or_role.startswith(ROLE_PREFIX) else role_name(tenant_or_role)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677):
    given to ``ALTER ROLE ... PASSWORD`` the cleartext never reaches the
    server, its statement log or its activity view."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode("ascii")

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    # standard_conforming_strings is on (PostgreSQL's default since 9.1): only quotes need doubling
    if "\x00" in value:
        raise RlsError("a tenant name cannot hold a NUL character")
    return "'" + value.replace("'", "''") + "'"


def policy_for(table: str, columns: set[str], tenant: str) -> str:
    """The USING expression that shows ``tenant`` its rows of ``table``."""
    who = _literal(tenant)
    if table == "tenants":
        return f"name = {who}"
    if "tenant" in columns:
        return f"tenant = {who}"
    if "operation_id" in columns:
        return (f"EXISTS (SELECT 1 FROM operations o WHERE o.id = {_ident(table)}.operation_id "
                f"AND o.tenant = {who})")
    if table in READABLE_WITHOUT_TENANT:
        return "true"
    return "false"


@dataclass(frozen=True)
class Granted:
    tenant: str
    role: str
    created: bool  # False: the role existed (the policies were made afresh)
    login: bool  # the role may log in (it has a password)
    tables: tuple[str, ...]


def _tables(conn: Connection) -> dict[str, set[str]]:
    rows = conn.execute(text(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
    )).all()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), set()).add(str(column))
    return out


def grant_tenant(engine: Engine, tenant: str, *, password: str | None = None) -> Granted:
    """Create (or bring up to date) ``tenant``'s role and its policies; see the
    module's docstring. ``password``: the role may log in with it."""
    if engine.dialect.name != "postgresql":
        raise RlsError(
            f"tenant roles need PostgreSQL; this database is {engine.dialect.name}: on SQLite a tenant "
            "scope is only what the console shows (see README, \"Tenant isolation\")"
        )
    role = role_name(tenant)
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GRANT_LOCK})
        tables = _tables(conn)
        if "operations" not in tables:
            raise RlsError("the database has no ksystui schema yet: run `ksystui db upgrade` first")
        existing = conn.execute(
            text("SELECT rolcanlogin, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = :r"),
            {"r": role},
        ).first()
        if existing is not None and existing[1] not in (None, _COMMENT + tenant):
            raise RlsError(
                f"role {role} already stands for another tenant ({existing[1]!s}): tenant names that differ "
                "only in case or punctuation share a role; rename one of them"
            )
        if existing is None:
            _ddl(conn, f"CREATE ROLE {_ident(role)} NOLOGIN")
        login = bool(existing[0]) if existing is not None else False
        if password is not None:
            # a SCRAM verifier holds only base64 characters, '$' and ':': safe inside a literal
            _ddl(conn, f"ALTER ROLE {_ident(role)} LOGIN PASSWORD '{scram_verifier(password)}'")
            login = True
        _ddl(conn, f"COMMENT ON ROLE {_ident(role)} IS {_literal(_COMMENT + tenant)}")
        member = conn.execute(text("SELECT pg_has_role(current_user, :r, 'MEMBER')"), {"r": role}).scalar()
        if not member:
            _ddl(conn, f"GRANT {_ident(role)} TO CURRENT_USER")
        _ddl(conn, f"GRANT USAGE ON SCHEMA {_ident(_schema(conn))} TO {_ident(role)}")
        for table, columns in sorted(tables.items()):
            t = _ident(table)
            _ddl(conn, f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
            _ddl(conn, f"DROP POLICY IF EXISTS {OWNER_POLICY} ON {t}")
            _ddl(conn, f"CREATE POLICY {OWNER_POLICY} ON {t} FOR ALL TO CURRENT_USER "
                       "USING (true) WITH CHECK (true)")
            _ddl(conn, f"DROP POLICY IF EXISTS {_ident(role)} ON {t}")
            _ddl(conn, f"CREATE POLICY {_ident(role)} ON {t} FOR SELECT TO {_ident(role)} "
                       f"USING ({policy_for(table, columns, tenant)})")
            _ddl(conn, f"GRANT SELECT ON {t} TO {_ident(role)}")
    return Granted(tenant, role, existing is None, login, tuple(sorted(tables)))


def _schema(conn: Connection) -> str:
    return str(conn.execute(text("SELECT current_schema()")).scalar())


def _ddl(conn: Connection, statement: str) -> None:
    # on the driver's cursor, with no parameters, in the connection's transaction: text() would
    # take ':' in a literal for a parameter, and the driver '%' once handed any parameters
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement)
    except conn.dialect.loaded_dbapi.Error as exc:
        # e.g. "must be owner of table events", "permission denied to create role"
        words = " ".join(str(exc).split())
        hint = ""
        if any(w in words for w in ("privilege", "permission denied", "must be owner")):
            hint = ": run it as a database user with CREATEROLE that owns ksystui's tables (ran `ksystui db upgrade`)"
        raise RlsError(f"{words} (while: {' '.join(statement.split()[:4])} ...){hint}") from None
    finally:
        cursor.close()
