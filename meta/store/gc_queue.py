"""The GC queue: files whose last link went away and whose chunks must go.

`GCQU + inode -> (length, layout, removed at)`. Unlink/rename write a
record when a file's link count reaches 0; a future GC component reads
the queue, removes the chunks from storage and clears the record.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys
from fs3.meta.types import Inode, Layout

__all__ = ["GcRecord", "enqueue_removed_file", "list_gc_records", "remove_gc_record"]

_FORMAT = 1
_VALUE = struct.Struct("<BQqBIIIIIQ")


@dataclasses.dataclass(frozen=True, slots=True)
class GcRecord:
    inode_id: int
    length: int
    layout: Layout | None
    removed_at_ns: int


def enqueue_removed_file(txn: Transaction, inode: Inode, now_ns: int) -> None:
    layout = inode.layout or Layout(0, 0, 0, 0, 0, 0)
    txn.set(
        keys.gc_queue_key(inode.inode_id),
        _VALUE.pack(
            _FORMAT, inode.length, now_ns, inode.layout is not None,
            layout.chain_table_id, layout.chain_table_version, layout.chunk_size,
            layout.stripe_size, layout.first_chain_index, layout.shuffle_seed,
        ),
    )


async def list_gc_records(txn: Transaction, *, limit: int = 0) -> list[GcRecord]:
    begin, end = keys.gc_queue_range()
    records = []
    for row in await txn.get_range(begin, end, limit=limit):
        (format_byte, length, removed_at_ns, has_layout, *layout_fields) = _VALUE.unpack(row.value)
        assert format_byte == _FORMAT
        inode_id = struct.unpack_from("<Q", row.key, len(keys.GC_QUEUE_PREFIX))[0]
        layout = Layout(*layout_fields) if has_layout else None
        records.append(GcRecord(inode_id, length, layout, removed_at_ns))
    return records


def remove_gc_record(txn: Transaction, inode_id: int) -> None:
    txn.clear(keys.gc_queue_key(inode_id))
