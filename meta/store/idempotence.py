"""Idempotence records: the result of a create, keyed by (client, request id).

A create retried after a lost reply finds its record and returns the same
inode and session instead of EEXIST. Records carry their creation time so
a future cleaner can expire them.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys

__all__ = ["CreateRecord", "load_create_record", "store_create_record"]

_FORMAT = 1
_VALUE = struct.Struct("<BQQq")


@dataclasses.dataclass(frozen=True, slots=True)
class CreateRecord:
    inode_id: int
    session_id: int
    created_at_ns: int


async def load_create_record(txn: Transaction, client_id: int, request_id: bytes) -> CreateRecord | None:
    value = await txn.get(keys.idempotence_key(client_id, request_id))
    if value is None:
        return None
    format_byte, inode_id, session_id, created_at_ns = _VALUE.unpack(value)
    assert format_byte == _FORMAT
    return CreateRecord(inode_id, session_id, created_at_ns)


def store_create_record(txn: Transaction, client_id: int, request_id: bytes, record: CreateRecord) -> None:
    txn.set(
        keys.idempotence_key(client_id, request_id),
        _VALUE.pack(_FORMAT, record.inode_id, record.session_id, record.created_at_ns),
    )
