"""Goal: the key schema orders keys as designed and every value encoding round-trips.

Method: build keys for known ids and names; encode/decode hypothesis-drawn inodes.
"""

import struct

from hypothesis import given, strategies as st

from fs3.meta.store import keys
from fs3.meta.store.dir_entry import decode_dir_entry, encode_dir_entry_value
from fs3.meta.store.inode import decode_inode, encode_inode
from fs3.meta.types import DirEntry, Inode, InodeType, Layout

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)


def test_inode_key_is_prefix_plus_little_endian_id() -> None:
    assert keys.inode_key(1) == b"INOD" + struct.pack("<Q", 1)
    assert keys.inode_key(0x0102) == b"INOD\x02\x01" + b"\x00" * 6


def test_dir_entries_of_one_parent_form_one_range() -> None:
    begin, end = keys.dir_entry_range(5)
    inside = [keys.dir_entry_key(5, name) for name in (b"a", b"zz", b"\xff" * 10)]
    outside = [keys.dir_entry_key(4, b"a"), keys.dir_entry_key(6, b"a"), keys.dir_entry_key(5 + 256, b"a")]
    assert all(begin <= key < end for key in inside)
    assert not any(begin <= key < end for key in outside)
    assert keys.dir_entry_name(keys.dir_entry_key(5, b"name")) == b"name"


def test_prefixes_are_distinct() -> None:
    prefixes = [keys.INODE_PREFIX, keys.DIR_TIMES_PREFIX, keys.SUBDIR_COUNT_PREFIX, keys.DIR_ENTRY_PREFIX,
                keys.SESSION_PREFIX, keys.GC_QUEUE_PREFIX, keys.INODE_ID_ALLOCATOR_PREFIX, keys.IDEMPOTENCE_PREFIX,
                keys.XATTR_PREFIX, keys.CLIENT_PREFIX, keys.TRASH_PREFIX]
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(prefix) == 4 for prefix in prefixes)


layouts = st.builds(Layout, u32, u32, u32, u32, u32, u64)
inodes = st.builds(
    Inode,
    inode_id=st.integers(1, 2**64 - 1),
    inode_type=st.sampled_from(InodeType),
    mode=st.integers(0, 0o7777),
    uid=u32,
    gid=u32,
    nlink=u32,
    length=u64,
    atime_ns=i64,
    mtime_ns=i64,
    ctime_ns=i64,
    layout=st.none() | layouts,
    symlink_target=st.binary(max_size=4096),
    parent=u64,
    rdev=u32,
)


@given(inodes)
def test_inode_round_trips(inode: Inode) -> None:
    encoded = encode_inode(inode)
    assert encoded[0] == 1, "leading format byte"
    assert decode_inode(encoded) == inode


@given(st.binary(min_size=1, max_size=255), st.integers(1, 2**64 - 1), st.sampled_from(InodeType))
def test_dir_entry_round_trips(name: bytes, inode_id: int, inode_type: InodeType) -> None:
    entry = DirEntry(name, inode_id, inode_type)
    assert decode_dir_entry(name, encode_dir_entry_value(entry)) == entry
