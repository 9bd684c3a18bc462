"""The GC queue: files whose last link went away and whose chunks must go.

`GCQU + inode -> (length, layout, removed at, claim owner, claim until)`.
Unlink/rename write a record when a file's link count reaches 0; the GC
component (`components/gc.py`) claims records in a transaction, removes
the chunks from storage and clears the record. A claim expires, so a
record claimed by a service that died is taken by another.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction, key_after
from fs3.meta.store import keys
from fs3.meta.types import Inode, Layout

__all__ = ["GcRecord", "enqueue_removed_file", "list_gc_records", "load_gc_record", "store_gc_record",
           "remove_gc_record"]

_FORMAT = 1
_VALUE = struct.Struct("<BQqBIIIIIQ")
_CLAIM = struct.Struct("<Qq")


@dataclasses.dataclass(frozen=True, slots=True)
class GcRecord:
    inode_id: int
    length: int
    layout: Layout | None
    removed_at_ns: int
    claim_owner: int = 0
    claim_until_ns: int = 0


def _encode(record: GcRecord) -> bytes:
    layout = record.layout or Layout(0, 0, 0, 0, 0, 0)
    return _VALUE.pack(
        _FORMAT, record.length, record.removed_at_ns, record.layout is not None,
        layout.chain_table_id, layout.chain_table_version, layout.chunk_size,
        layout.stripe_size, layout.first_chain_index, layout.shuffle_seed,
    ) + _CLAIM.pack(record.claim_owner, record.claim_until_ns)


def _decode(key: bytes, value: bytes) -> GcRecord:
    (format_byte, length, removed_at_ns, has_layout, *layout_fields) = _VALUE.unpack_from(value, 0)
    assert format_byte == _FORMAT
    claim_owner, claim_until_ns = 0, 0
    if len(value) > _VALUE.size:  # records written before claims existed have none
        claim_owner, claim_until_ns = _CLAIM.unpack_from(value, _VALUE.size)
    inode_id = struct.unpack_from("<Q", key, len(keys.GC_QUEUE_PREFIX))[0]
    layout = Layout(*layout_fields) if has_layout else None
    return GcRecord(inode_id, length, layout, removed_at_ns, claim_owner, claim_until_ns)


def enqueue_removed_file(txn: Transaction, inode: Inode, now_ns: int) -> None:
    store_gc_record(txn, GcRecord(inode.inode_id, inode.length, inode.layout, now_ns))


def store_gc_record(txn: Transaction, record: GcRecord) -> None:
    txn.set(keys.gc_queue_key(record.inode_id), _encode(record))


async def load_gc_record(txn: Transaction, inode_id: int) -> GcRecord | None:
    key = keys.gc_queue_key(inode_id)
    value = await txn.get(key)
    return None if value is None else _decode(key, value)


async def list_gc_records(
    txn: Transaction, *, limit: int = 0, after_inode_id: int | None = None, snapshot: bool = False
) -> list[GcRecord]:
    """Records in key order, from after `after_inode_id` when given."""
    begin, end = keys.gc_queue_range()
    if after_inode_id is not None:
        begin = key_after(keys.gc_queue_key(after_inode_id))
    rows = await txn.get_range(begin, end, limit=limit, snapshot=snapshot)
    return [_decode(row.key, row.value) for row in rows]


def remove_gc_record(txn: Transaction, inode_id: int) -> None:
    txn.clear(keys.gc_queue_key(inode_id))
