"""Every table the store's migrations make, by the modules that describe them:
one list for the tests that compare the models with the migrations."""

from ksystui.store import delivery_tables, history_tables, queue_tables, service_tables, tables

STORE_TABLES: tuple[str, ...] = (*tables.TABLES, *queue_tables.TABLES, *service_tables.TABLES,
                                 *delivery_tables.TABLES, *history_tables.TABLES)
