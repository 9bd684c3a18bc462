"""Idempotence records: the result of a call, keyed by (client, request id).

A create retried after a lost reply finds its record (IDEM) and returns the
same inode and session instead of EEXIST; mkdir, symlink, link, unlink,
rmdir and rename keep an op record (IDOP) with the inode they returned (or
none). Records carry their creation time; the session pruner drops those
older than `idempotence_retention_s`.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys
from fs3.meta.store.inode import decode_inode, encode_inode
from fs3.meta.types import Inode

__all__ = ["CreateRecord", "load_create_record", "store_create_record", "OpRecord", "load_op_record",
           "store_op_record", "record_created_at_ns"]

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


_OP_HEADER = struct.Struct("<Bq")


@dataclasses.dataclass(frozen=True, slots=True)
class OpRecord:
    result: Inode | None  # what the call returned (None: nothing, e.g. unlink)
    created_at_ns: int


async def load_op_record(txn: Transaction, client_id: int, request_id: bytes) -> OpRecord | None:
    value = await txn.get(keys.op_record_key(client_id, request_id))
    if value is None:
        return None
    format_byte, created_at_ns = _OP_HEADER.unpack_from(value, 0)
    assert format_byte == _FORMAT, f"unknown op record format {format_byte}"
    body = value[_OP_HEADER.size:]
    return OpRecord(decode_inode(body) if body else None, created_at_ns)


def store_op_record(txn: Transaction, client_id: int, request_id: bytes, record: OpRecord) -> None:
    body = encode_inode(record.result) if record.result is not None else b""
    txn.set(keys.op_record_key(client_id, request_id), _OP_HEADER.pack(_FORMAT, record.created_at_ns) + body)


def record_created_at_ns(prefix: bytes, value: bytes) -> int:
    """The creation time of an IDEM or IDOP record (for expiry)."""
    if prefix == keys.IDEMPOTENCE_PREFIX:
        return _VALUE.unpack(value)[3]
    return _OP_HEADER.unpack_from(value, 0)[1]
