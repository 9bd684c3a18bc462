"""The heartbeat as a lease (shared/design/replication.md, "Target states").

A storage service that has not had a successful heartbeat for half the
cluster manager's heartbeat timeout stops serving: by then the manager may be
about to declare it dead and move its targets out of their chains, and a
service cut off from the manager must not keep acknowledging reads or writes
that the rest of the chain no longer sees. The lease starts when a heartbeat
is *sent* (never later than the manager records it), and serving resumes as
soon as a heartbeat succeeds again.
"""

from __future__ import annotations

import time
from typing import Callable

from fs3.errors import Fs3Error, StatusCode

__all__ = ["lease_valid", "HeartbeatLease"]


def lease_valid(last_heartbeat_ok: float, heartbeat_timeout_s: float, now: float) -> bool:
    """True while `now` is within half the heartbeat timeout of the last successful heartbeat.

    `last_heartbeat_ok` 0 (never) or an unknown timeout (0) mean no lease.
    """
    if last_heartbeat_ok <= 0 or heartbeat_timeout_s <= 0:
        return False
    return 0 <= now - last_heartbeat_ok < heartbeat_timeout_s / 2


class HeartbeatLease:
    """Reads the lease off a heartbeat source (the service's `NodeAgent`)."""

    def __init__(
        self,
        last_heartbeat_ok: Callable[[], float],
        heartbeat_timeout_s: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._last_heartbeat_ok = last_heartbeat_ok
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._monotonic = monotonic

    def valid(self) -> bool:
        return lease_valid(self._last_heartbeat_ok(), self._heartbeat_timeout_s(), self._monotonic())

    def check(self) -> None:
        """Raise TARGET_NOT_SERVING unless the lease holds."""
        if not self.valid():
            raise Fs3Error(
                StatusCode.TARGET_NOT_SERVING,
                "no successful heartbeat for half the heartbeat timeout: this storage service is not serving",
            )

    @classmethod
    def always(cls) -> HeartbeatLease:
        """A lease that never expires (unit tests of the node without a cluster manager)."""
        return cls(lambda: 1.0, lambda: float("inf"), lambda: 1.0)
