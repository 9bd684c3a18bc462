"""Client liveness: `CLNT + client_id -> last seen (ns)`.

Written by a blind set whenever a client records a write session (open or
create for writing) and on its heartbeats, so it never makes two clients'
calls conflict. The session pruner (`components/session_pruner.py`) treats
a client not seen for `client_session_timeout_s` as dead and removes its
write sessions, then its record.
"""

from __future__ import annotations

import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys

__all__ = ["touch_client", "load_client_seen", "list_clients", "remove_client"]

_FORMAT = 1
_VALUE = struct.Struct("<Bq")


def touch_client(txn: Transaction, client_id: int, now_ns: int) -> None:
    """Record that `client_id` was alive at `now_ns` (client 0 is anonymous: not recorded)."""
    if client_id:
        txn.set(keys.client_key(client_id), _VALUE.pack(_FORMAT, now_ns))


async def load_client_seen(txn: Transaction, client_id: int, *, snapshot: bool = False) -> int | None:
    value = await txn.get(keys.client_key(client_id), snapshot=snapshot)
    if value is None:
        return None
    format_byte, seen_ns = _VALUE.unpack(value)
    assert format_byte == _FORMAT
    return seen_ns


async def list_clients(txn: Transaction, *, limit: int = 0, snapshot: bool = False) -> list[tuple[int, int]]:
    """(client_id, last seen ns) in key order."""
    begin, end = keys.client_range()
    found = []
    for row in await txn.get_range(begin, end, limit=limit, snapshot=snapshot):
        format_byte, seen_ns = _VALUE.unpack(row.value)
        assert format_byte == _FORMAT
        found.append((struct.unpack_from("<Q", row.key, len(begin))[0], seen_ns))
    return found


def remove_client(txn: Transaction, client_id: int) -> None:
    txn.clear(keys.client_key(client_id))
