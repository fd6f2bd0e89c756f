"""Capped exponential backoff with jitter (pure: no clock, no sleeping).

``Backoff(initial=1, factor=2, cap=60, jitter=0.2)`` gives delays of about
1, 2, 4, 8, … seconds, each moved at random by up to ±20 %, never above
``cap``. ``reset()`` after a success starts again from ``initial``.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self,
        initial: float = 1.0,
        factor: float = 2.0,
        cap: float = 60.0,
        jitter: float = 0.2,
        *,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0:
            raise ValueError("backoff initial delay must be positive")
        if factor < 1:
            raise ValueError("backoff factor must be at least 1")
        if cap < initial:
            raise ValueError("backoff cap must be at least the initial delay")
        if not 0 <= jitter < 1:
            raise ValueError("backoff jitter must be in [0, 1)")
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._failures

    def peek_base(self) -> float:
        """The delay before jitter that :meth:`next_delay` will use next."""
        # the exponent is bounded so a long outage never overflows a float
        exponent = min(self._failures, 1024)
        try:
            base = self.initial * self.factor**exponent
        except OverflowError:
            base = self.cap
        return min(self.cap, base)

    def next_delay(self) -> float:
        """The delay before the next attempt, in seconds (0 < delay <= cap)."""
        base = self.peek_base()
        self._failures += 1
        if self.jitter:
            base *= 1 + self._rng.uniform(-self.jitter, self.jitter)
        return max(0.0, min(self.cap, base))

    def reset(self) -> None:
        self._failures = 0

    def fresh(self) -> Backoff:
        """A new backoff with the same settings (and random source), from the start."""
        return Backoff(self.initial, self.factor, self.cap, self.jitter, rng=self._rng)

    def __repr__(self) -> str:
        return (
            f"Backoff(initial={self.initial}, factor={self.factor}, cap={self.cap}, "
            f"jitter={self.jitter}, failures={self._failures})"
        )
