"""List clients: who the metadata store knows as alive, and their write sessions (`fs3 clients`).

A client is known from its record (`store/client.py`: written by an open for
writing and by heartbeats, cleared by the session pruner after the session
timeout). Read-only, snapshot reads: a listing never conflicts with the
clients it lists.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from fs3.kv.interface import Transaction
from fs3.meta.store.client import list_clients
from fs3.meta.store.session import list_all_sessions

__all__ = ["ClientSessionInfo", "ListClientsOp"]


@dataclasses.dataclass(frozen=True, slots=True)
class ClientSessionInfo:
    client_id: int
    last_seen_ns: int
    write_sessions: int


class ListClientsOp:
    """Args:
        limit: most clients listed.
        sessions_scan_max: most write sessions counted; past it the counts are partial (`truncated`).
    """

    def __init__(self, limit: int, sessions_scan_max: int) -> None:
        assert limit > 0 and sessions_scan_max > 0
        self._limit = limit
        self._sessions_scan_max = sessions_scan_max

    async def run(self, txn: Transaction) -> tuple[list[ClientSessionInfo], bool]:
        """The clients in id order and whether the listing or the session counts were cut short."""
        clients = await list_clients(txn, limit=self._limit + 1, snapshot=True)
        sessions = await list_all_sessions(txn, limit=self._sessions_scan_max + 1, snapshot=True)
        truncated = len(clients) > self._limit or len(sessions) > self._sessions_scan_max
        counts = Counter(session.client_id for session in sessions[: self._sessions_scan_max])
        return [ClientSessionInfo(client_id, seen_ns, counts[client_id])
                for client_id, seen_ns in clients[: self._limit]], truncated
