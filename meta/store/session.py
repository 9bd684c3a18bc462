"""Write sessions: `SESS + inode + session -> (client id, opened at)`.

Open/create for writing adds one (and marks its client alive, see
`client.py`), close removes it. The GC defers chunk removal of unlinked
files while sessions exist; the session pruner removes sessions of clients
not seen for `client_session_timeout_s`.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction, key_after
from fs3.meta.store import keys
from fs3.meta.store.client import touch_client

__all__ = ["WriteSession", "store_session", "remove_session", "list_sessions", "list_all_sessions"]

_FORMAT = 1
_VALUE = struct.Struct("<BQq")


@dataclasses.dataclass(frozen=True, slots=True)
class WriteSession:
    inode_id: int
    session_id: int
    client_id: int
    opened_at_ns: int


def store_session(txn: Transaction, session: WriteSession) -> None:
    assert session.session_id > 0, "session id 0 means 'no session'"
    txn.set(
        keys.session_key(session.inode_id, session.session_id),
        _VALUE.pack(_FORMAT, session.client_id, session.opened_at_ns),
    )
    touch_client(txn, session.client_id, session.opened_at_ns)


def remove_session(txn: Transaction, inode_id: int, session_id: int) -> None:
    txn.clear(keys.session_key(inode_id, session_id))


async def list_sessions(txn: Transaction, inode_id: int, *, limit: int = 0) -> list[WriteSession]:
    begin, end = keys.session_range(inode_id)
    sessions = []
    for row in await txn.get_range(begin, end, limit=limit):
        format_byte, client_id, opened_at_ns = _VALUE.unpack(row.value)
        assert format_byte == _FORMAT
        session_id = struct.unpack_from("<Q", row.key, len(begin))[0]
        sessions.append(WriteSession(inode_id, session_id, client_id, opened_at_ns))
    return sessions


async def list_all_sessions(
    txn: Transaction, *, limit: int = 0, after: tuple[int, int] | None = None, snapshot: bool = False
) -> list[WriteSession]:
    """Sessions of every inode in key order, from after (inode_id, session_id) when given."""
    begin, end = keys.session_all_range()
    if after is not None:
        begin = key_after(keys.session_key(*after))
    sessions = []
    offset = len(keys.SESSION_PREFIX)
    for row in await txn.get_range(begin, end, limit=limit, snapshot=snapshot):
        format_byte, client_id, opened_at_ns = _VALUE.unpack(row.value)
        assert format_byte == _FORMAT
        inode_id, session_id = struct.unpack_from("<QQ", row.key, offset)
        sessions.append(WriteSession(inode_id, session_id, client_id, opened_at_ns))
    return sessions
