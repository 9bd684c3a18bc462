"""Trash records: `TRSH + expire_at_ns (u64 BE) + inode_id -> (trash dir id, name)`.

`remove_tree_to_trash` moves a tree to `/trash/<uid>/<name>-<time>` and
writes one record; the trash cleaner (`components/trash_cleaner.py`) reads
records in expiry order and deletes the entry if it is still there (same
directory, same name, same inode). An entry renamed away (restored) before
its expiry is left alone and its record dropped.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.kv.interface import Transaction
from fs3.meta.store import keys

__all__ = ["TrashRecord", "store_trash_record", "remove_trash_record", "list_expired_trash"]

_FORMAT = 1
_HEAD = struct.Struct("<BQ")


@dataclasses.dataclass(frozen=True, slots=True)
class TrashRecord:
    expire_at_ns: int
    inode_id: int
    trash_dir_id: int
    name: bytes


def store_trash_record(txn: Transaction, record: TrashRecord) -> None:
    txn.set(keys.trash_key(record.expire_at_ns, record.inode_id),
            _HEAD.pack(_FORMAT, record.trash_dir_id) + record.name)


def remove_trash_record(txn: Transaction, record: TrashRecord) -> None:
    txn.clear(keys.trash_key(record.expire_at_ns, record.inode_id))


async def list_expired_trash(txn: Transaction, now_ns: int, *, limit: int = 0,
                             snapshot: bool = False) -> list[TrashRecord]:
    """Records with expire_at_ns <= now_ns, earliest first."""
    begin, end = keys.trash_range_until(now_ns)
    records = []
    for row in await txn.get_range(begin, end, limit=limit, snapshot=snapshot):
        format_byte, trash_dir_id = _HEAD.unpack_from(row.value)
        assert format_byte == _FORMAT
        expire_at_ns, inode_id = keys.trash_key_fields(row.key)
        records.append(TrashRecord(expire_at_ns, inode_id, trash_dir_id, row.value[_HEAD.size:]))
    return records
