"""Directory entries in the KV store: `DENT + parent + name -> (inode id, type)`.

Value format 1: u8 format | u64 inode_id | u8 inode_type.
"""

from __future__ import annotations

import struct

from fs3.kv.interface import Transaction, key_after
from fs3.meta.store import keys
from fs3.meta.types import DirEntry, InodeType

__all__ = [
    "encode_dir_entry_value",
    "decode_dir_entry",
    "load_dir_entry",
    "store_dir_entry",
    "remove_dir_entry",
    "list_dir_entries",
    "directory_is_empty",
]

_FORMAT = 1
_VALUE = struct.Struct("<BQB")


def encode_dir_entry_value(entry: DirEntry) -> bytes:
    return _VALUE.pack(_FORMAT, entry.inode_id, int(entry.inode_type))


def decode_dir_entry(name: bytes, value: bytes) -> DirEntry:
    format_byte, inode_id, type_value = _VALUE.unpack(value)
    assert format_byte == _FORMAT, f"unknown dir entry format {format_byte}"
    return DirEntry(name=name, inode_id=inode_id, inode_type=InodeType(type_value))


async def load_dir_entry(
    txn: Transaction, parent_id: int, name: bytes, *, snapshot: bool = False
) -> DirEntry | None:
    value = await txn.get(keys.dir_entry_key(parent_id, name), snapshot=snapshot)
    if value is None:
        return None
    return decode_dir_entry(name, value)


def store_dir_entry(txn: Transaction, parent_id: int, entry: DirEntry) -> None:
    txn.set(keys.dir_entry_key(parent_id, entry.name), encode_dir_entry_value(entry))


def remove_dir_entry(txn: Transaction, parent_id: int, name: bytes) -> None:
    txn.clear(keys.dir_entry_key(parent_id, name))


async def list_dir_entries(
    txn: Transaction, parent_id: int, *, after_name: bytes, limit: int, snapshot: bool = False
) -> list[DirEntry]:
    """Up to `limit` entries of `parent_id` with names after `after_name`, in name order."""
    assert limit > 0
    begin, end = keys.dir_entry_range(parent_id)
    if after_name:
        begin = key_after(keys.dir_entry_key(parent_id, after_name))
    rows = await txn.get_range(begin, end, limit=limit, snapshot=snapshot)
    return [decode_dir_entry(keys.dir_entry_name(row.key), row.value) for row in rows]


async def directory_is_empty(txn: Transaction, directory_id: int) -> bool:
    """Reads the first entry with a conflict: a concurrent create conflicts with us."""
    begin, end = keys.dir_entry_range(directory_id)
    rows = await txn.get_range(begin, end, limit=1)
    return not rows
