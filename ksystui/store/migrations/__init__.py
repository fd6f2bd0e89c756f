"""The store's alembic environment (run by ``ksystui.store.engine.migrate``).

A package so that the migration scripts are installed with ksystui. Revisions
are named ``NNNN_what.py`` with ``revision = "NNNN"``; write one with the
SQLite limits in mind (``op.batch_alter_table`` for column changes).
"""
