"""vulture's whitelist for ksystui (tests/test_dead_code.py runs vulture over
``ksystui`` and this file, and fails on any finding).

Each group says why its names are used although no code in ksystui calls
them. A name listed here is "used" everywhere, so keep the groups tight.
"""

# ruff: noqa: F821, B018
# (a vulture whitelist is never run: it only names what counts as used)

# --- Textual attributes the framework reads (tests/test_dead_code.py ignores the names it finds by
#     convention: action_*, on_*, key_*, compose, render_line, DEFAULT_CSS, BINDINGS, ...)
_.ansi_color  # ui/app.py
_.virtual_size  # ui/widgets/virtual_table.py

# --- PEP 562: a package's module-level __getattr__ is called by the import machinery
__getattr__  # ui/widgets/__init__.py

# --- pydantic reads `model_config` (validators are ignored by decorator in tests/test_dead_code.py)
model_config  # config.py, sim/scenario.py

# --- alembic: every revision module declares these; alembic reads them and calls `downgrade`
down_revision  # store/migrations/versions/0001_initial.py, store/migrations/versions/0002_queue_and_audit.py
branch_labels  # store/migrations/versions/0001_initial.py, store/migrations/versions/0002_queue_and_audit.py
depends_on  # store/migrations/versions/0001_initial.py, store/migrations/versions/0002_queue_and_audit.py
downgrade  # store/migrations/versions/0001_initial.py, store/migrations/versions/0002_queue_and_audit.py

# --- SQLAlchemy: TypeDecorator hooks and attributes, and the DBAPI connection's `isolation_level` set by
#     an engine listener (listeners are ignored by decorator in tests/test_dead_code.py)
_.isolation_level  # store/engine.py
impl  # store/tables.py
cache_ok  # store/tables.py
_.process_bind_param  # store/tables.py
_.process_result_value  # store/tables.py

# --- asyncio / asyncssh: protocol and server callbacks the libraries call by name
_.connection_made  # sim/rest_server.py, sim/ssh_server.py, transport/ssh.py
_.connection_lost  # sim/ssh_server.py, transport/ssh.py
_.begin_auth  # sim/ssh_server.py
_.password_auth_supported  # sim/ssh_server.py
_.kbdint_auth_supported  # sim/ssh_server.py
_.public_key_auth_supported  # sim/ssh_server.py
_.validate_public_key  # sim/ssh_server.py

# --- The async context-manager protocol: `__aexit__` must accept the exception triple
exc_type  # transport/base.py, transport/ssh.py
tb  # transport/base.py, transport/ssh.py

# --- dataclass fields of parsed ksysmgr records: every field ksysmgr prints is kept, and the store's codec and
#     `core/ksysmgr/jsonable.py` read them generically (dataclasses.fields)
processor_mode  # core/model.py
active_host_groups  # core/model.py
fsp_id  # core/model.py
active_hosts  # core/model.py
backup_hosts  # core/model.py
memory_capacity  # core/model.py
cpu_capacity  # core/model.py
skip_power_on  # core/model.py
host_group  # core/model.py
home_workspace  # core/model.py
backup_workspace  # core/model.py
active_workspace  # core/model.py
volume_disk_group  # core/model.py
disk_group  # core/model.py
source_agent  # core/model.py
target_agent  # core/model.py
disk_ids  # core/model.py
skip_auto_resync  # core/model.py
home_site  # core/model.py
rehearsal_networks  # core/model.py
ksysnodes  # core/model.py
ksys_state  # core/model.py
entity_kind  # core/model.py
source_vm  # core/model.py
clone_vm  # core/model.py
active_vm  # core/model.py
ip_addresses  # core/model.py

# --- The simulator's test oracles: what tests read to see behind the curtain (CA, client TLS context,
#     connection and command counts)
_.ca_pem  # sim/runner.py
_.client_ssl_context  # sim/runner.py
_.connection_count  # sim/ssh_server.py
_.running_commands  # sim/ssh_server.py
_.wait_commands  # sim/ssh_server.py

# --- Pure rules the design names, tested on their own; `decide` and the planner apply them through claims
conflict  # core/arbitration.py: two operations conflict iff their claims intersect
conflicts  # core/planning.py: two auto-discovery windows overlap

# --- Schema facts read by the migration tests (every table a revision must create) and stored columns
#     kept for the record (who submitted an operation is audited and stored with it)
TABLES  # store/queue_tables.py, store/tables.py
submitted_by  # store/queue_tables.py, store/queue_types.py

# --- The transports' health and counters: the NodeTransport seam reports them (tests/transport read them
#     to prove reconnection, backoff and reuse); the monitor keeps its own latency per poll
_.failures  # transport/backoff.py
_.attempts  # transport/rest.py
_.last_latency_ms  # transport/rest.py, transport/ssh.py
last_latency_ms  # transport/base.py (TransportHealth)
last_ok_at  # transport/base.py (TransportHealth)
_.connections_opened  # transport/ssh.py

# --- The PowerVS DR Automation REST client's endpoints (ksys-reference, DR Automation API): the fleet's
#     service reader reads the list ones; one event by id is tested against the simulator's REST service
_.get_event  # transport/rest.py

# --- Issue 15: fields of what a node or its service says, shown by dataclass fields (the VM and node
#     details iterate them, `ksystui parse` prints them) rather than read by name
volumes  # core/model.py Disk (query disk Volume Details)
core  # core/model.py ManagedVm
memory  # core/model.py ManagedVm
dr_region  # core/model.py ManagedVm
config_status  # core/model.py ServiceStatus
cluster_message  # core/model.py ServiceStatus
connectivity  # core/model.py ServiceStatus
plan_name  # core/model.py ServiceStatus
primary_description  # core/model.py ServiceStatus
standby_description  # core/model.py ServiceStatus
vmrm_version  # core/model.py SnapshotInfo

# --- The virtual table's read-outs for tests (what is painted, how often it flushed)
_.view_keys  # ui/widgets/table_model.py
_._flush_count  # ui/widgets/virtual_table.py
_.get_row  # ui/widgets/virtual_table.py
_.visible_rows  # ui/widgets/virtual_table.py

# --- Checks that run only under mypy: assigning a Fleet, an SshTransport to the Protocol they must fit
#     proves the seam (a runtime test could not: Protocols are structural)
_a_fleet_is_read_so  # arbiter/ports.py
_a_transport_runs_so  # arbiter/ports.py
_ssh_is_a_transport  # transport/__init__.py

# --- The parsed ksysmgr command line keeps every flag it was given (`-l low|max`), as a real KSYS would accept
trace_level  # core/ksysmgr/grammar.py

# --- Textual reads these by name: a message's `control` (the widget it is about, for selectors)
_.control  # ui/widgets/virtual_table.py

# --- Textual's Input reads the cursor position we set (ui/command_prompt.py)
_.cursor_position

# --- Jinja2 reads the report's fields by name in ksystui/report/templates/report.html.j2, and the JSON
#     (core/report.py report_json, dataclasses.asdict) carries every one to the machines that read it
_.requested_by  # core/report.py
_.requested_at  # core/report.py
_.queue_wait  # core/report.py
_.measured_rto  # core/report.py
_.measured_rto_seconds  # core/report.py
_.agreed_rto_seconds  # core/report.py
_.rto_verdict  # core/report.py
_.rehearsal_note  # core/report.py
_.anchor_note  # core/report.py
_.verify_command  # core/report.py

# --- A model field the ksysmgr layouts parse and render by name (core/ksysmgr/layouts.py Spec)
_.dedicated_host  # core/model.py: a PowerVS backup VM's Dedicated_Host
