"""Waiting for a condition in a test: what a person would notice, not a
fixed time (a busy machine is slower, never wrong)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

POLL = 0.02  # how often the condition is looked at


async def eventually(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Return once ``condition()`` (sync or async) holds; fail with
    TimeoutError after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while True:
            held = condition()
            if inspect.isawaitable(held):
                held = await held
            if held:
                return
            await asyncio.sleep(POLL)
