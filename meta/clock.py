"""The time source of metadata operations.

Ops never read the wall clock themselves: the operator takes a `Clock` so
tests can fix or step time.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "WallClock", "FixedClock"]


class Clock(Protocol):
    def now_ns(self) -> int:
        """Nanoseconds since the Unix epoch."""
        ...


class WallClock:
    """The system's real-time clock."""

    def now_ns(self) -> int:
        return time.time_ns()


class FixedClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, now_ns: int = 1_700_000_000_000_000_000) -> None:
        self._now_ns = now_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance(self, delta_ns: int) -> None:
        assert delta_ns >= 0, "time does not go back"
        self._now_ns += delta_ns
