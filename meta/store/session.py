"""Write sessions: `SESS + inode + session -> (client id, opened at)`.

Open/create for writing adds one, close removes it. A later component
defers chunk removal of unlinked files while sessions exist and prunes
sessions of dead clients.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys

__all__ = ["WriteSession", "store_session", "remove_session", "list_sessions"]

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
