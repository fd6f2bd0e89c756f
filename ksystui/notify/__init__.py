"""Delivering notices to the outside world: webhooks and commands
(``send.py``). What a notice says and how each receiver wants it shaped are
the core's (``core/notices.py``, ``core/notify_payloads.py``)."""
