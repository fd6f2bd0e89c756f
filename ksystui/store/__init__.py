"""The store: SQLite (WAL) or PostgreSQL through sqlmodel, schema by alembic.

Every process opens it the same way::

    engine = open_engine(url)   # None: SQLite in the user data directory
    migrate(engine)             # to the newest schema this ksystui knows
    store = Store(engine)       # or Store.open(url), or AsyncStore.open(url)

No secret is ever written here.
"""

from ksystui.store.codec import CodecError, dump_snapshot, load_snapshot
from ksystui.store.engine import (
    SchemaTooNewError,
    StoreError,
    current_revision,
    default_database_path,
    head_revision,
    migrate,
    open_engine,
    read_connection,
)
from ksystui.store.repository import (
    AsyncStore,
    NodeSpec,
    Store,
    StoredEvent,
    TenantSpec,
    config_rows,
)

__all__ = [
    "AsyncStore",
    "CodecError",
    "NodeSpec",
    "SchemaTooNewError",
    "Store",
    "StoreError",
    "StoredEvent",
    "TenantSpec",
    "config_rows",
    "current_revision",
    "default_database_path",
    "dump_snapshot",
    "head_revision",
    "load_snapshot",
    "migrate",
    "open_engine",
    "read_connection",
]

# The arbiter's durable queue and the audit trail (migrations 0002, 0003). Actor, OpState and
# SecretRefused are the core's (core.actor, core.opstate, core.secrets), re-exported.
from ksystui.core.actor import Actor  # noqa: E402
from ksystui.core.opstate import OpState  # noqa: E402
from ksystui.core.secrets import SecretRefused  # noqa: E402
from ksystui.store.audit_log import AuditLog  # noqa: E402
from ksystui.store.queue import Dispatcher, NewOp, Queue, QueuedOp  # noqa: E402
from ksystui.store.queue_async import AsyncQueue  # noqa: E402

__all__ += ["Actor", "AsyncQueue", "AuditLog", "Dispatcher", "NewOp", "OpState", "Queue", "QueuedOp", "SecretRefused"]

# The provider service (migration 0004): the change feed, alerts, the leader's lease and fencing.
from ksystui.core.alerts import AlertRecord  # noqa: E402
from ksystui.core.lease import LeaseDecision, LeaseState, decide_lease  # noqa: E402
from ksystui.store.feed import AsyncFeed, Change, Feed, Published  # noqa: E402
from ksystui.store.lease import (  # noqa: E402
    AdvisoryLock,
    AsyncLeaseStore,
    Fenced,
    Guard,
    LeaseStore,
    Member,
    supports_advisory_lock,
)
from ksystui.store.notify import ChangeListener, listener_for  # noqa: E402

__all__ += ["AdvisoryLock", "AlertRecord", "AsyncFeed", "AsyncLeaseStore", "Change", "ChangeListener", "Feed",
            "Fenced", "Guard", "LeaseDecision", "LeaseState", "LeaseStore", "Member", "Published", "decide_lease",
            "listener_for", "supports_advisory_lock"]
