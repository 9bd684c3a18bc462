"""The FUSE kernel protocol (linux/fuse.h): opcodes, flags and wire layouts.

Every request the kernel writes to /dev/fuse starts with a `fuse_in_header`
(`IN_HEADER`), followed by the opcode's argument struct and, for some
opcodes, NUL-terminated names or a data payload. Every reply starts with a
`fuse_out_header` (`OUT_HEADER`) whose `error` is 0 or a negative errno.
Layouts are `struct.Struct`s in native byte order with the header's explicit
padding fields, so their sizes equal the C structs' (checked in
tests/fuse/kernel/test_protocol.py). Nothing here knows about operations or
sessions: `encoding` packs replies, `handlers` unpacks requests.

Protocol 7.31 is the oldest minor we speak (max_pages, map_alignment); 7.38
the newest whose structs this module describes. INIT settles on the lower of
the kernel's minor and `MINOR_MAX`; features newer than 7.31 are only used
when their init flag is negotiated.
"""

from __future__ import annotations

import enum
import struct

KERNEL_VERSION = 7
MINOR_MIN = 31
MINOR_MAX = 38
ROOT_ID = 1

# The kernel refuses a read buffer smaller than this (and smaller than max_write + headers).
MIN_READ_BUFFER_BYTES = 8192


class Opcode(enum.IntEnum):
    LOOKUP = 1
    FORGET = 2  # no reply
    GETATTR = 3
    SETATTR = 4
    READLINK = 5
    SYMLINK = 6
    MKNOD = 8
    MKDIR = 9
    UNLINK = 10
    RMDIR = 11
    RENAME = 12
    LINK = 13
    OPEN = 14
    READ = 15
    WRITE = 16
    STATFS = 17
    RELEASE = 18
    FSYNC = 20
    SETXATTR = 21
    GETXATTR = 22
    LISTXATTR = 23
    REMOVEXATTR = 24
    FLUSH = 25
    INIT = 26
    OPENDIR = 27
    READDIR = 28
    RELEASEDIR = 29
    FSYNCDIR = 30
    GETLK = 31
    SETLK = 32
    SETLKW = 33
    ACCESS = 34
    CREATE = 35
    INTERRUPT = 36  # no reply
    BMAP = 37
    DESTROY = 38
    IOCTL = 39
    POLL = 40
    NOTIFY_REPLY = 41  # no reply
    BATCH_FORGET = 42  # no reply
    FALLOCATE = 43
    READDIRPLUS = 44
    RENAME2 = 45
    LSEEK = 46
    COPY_FILE_RANGE = 47
    SETUPMAPPING = 48
    REMOVEMAPPING = 49
    SYNCFS = 50
    TMPFILE = 51
    STATX = 52  # 7.39


class InitFlag(enum.IntFlag):
    """`fuse_init_in.flags` / `fuse_init_out.flags` (bits 32-63 travel in flags2)."""

    ASYNC_READ = 1 << 0
    POSIX_LOCKS = 1 << 1
    FILE_OPS = 1 << 2
    ATOMIC_O_TRUNC = 1 << 3
    EXPORT_SUPPORT = 1 << 4
    BIG_WRITES = 1 << 5
    DONT_MASK = 1 << 6
    SPLICE_WRITE = 1 << 7
    SPLICE_MOVE = 1 << 8
    SPLICE_READ = 1 << 9
    FLOCK_LOCKS = 1 << 10
    HAS_IOCTL_DIR = 1 << 11
    AUTO_INVAL_DATA = 1 << 12
    DO_READDIRPLUS = 1 << 13
    READDIRPLUS_AUTO = 1 << 14
    ASYNC_DIO = 1 << 15
    WRITEBACK_CACHE = 1 << 16
    NO_OPEN_SUPPORT = 1 << 17
    PARALLEL_DIROPS = 1 << 18
    HANDLE_KILLPRIV = 1 << 19
    POSIX_ACL = 1 << 20
    ABORT_ERROR = 1 << 21
    MAX_PAGES = 1 << 22
    CACHE_SYMLINKS = 1 << 23
    NO_OPENDIR_SUPPORT = 1 << 24
    EXPLICIT_INVAL_DATA = 1 << 25
    MAP_ALIGNMENT = 1 << 26
    SUBMOUNTS = 1 << 27
    HANDLE_KILLPRIV_V2 = 1 << 28
    SETXATTR_EXT = 1 << 29
    INIT_EXT = 1 << 30
    INIT_RESERVED = 1 << 31
    SECURITY_CTX = 1 << 32
    HAS_INODE_DAX = 1 << 33


# fuse_setattr_in.valid
FATTR_MODE = 1 << 0
FATTR_UID = 1 << 1
FATTR_GID = 1 << 2
FATTR_SIZE = 1 << 3
FATTR_ATIME = 1 << 4
FATTR_MTIME = 1 << 5
FATTR_FH = 1 << 6
FATTR_ATIME_NOW = 1 << 7
FATTR_MTIME_NOW = 1 << 8
FATTR_LOCKOWNER = 1 << 9
FATTR_CTIME = 1 << 10
FATTR_KILL_SUIDGID = 1 << 11

# fuse_open_out.open_flags
FOPEN_DIRECT_IO = 1 << 0
FOPEN_KEEP_CACHE = 1 << 1
FOPEN_NONSEEKABLE = 1 << 2
FOPEN_CACHE_DIR = 1 << 3
FOPEN_STREAM = 1 << 4
FOPEN_NOFLUSH = 1 << 5

# fuse_release_in.release_flags
RELEASE_FLUSH = 1 << 0
RELEASE_FLOCK_UNLOCK = 1 << 1
# fuse_getattr_in.getattr_flags
GETATTR_FH = 1 << 0
# fuse_lk_in.lk_flags
LK_FLOCK = 1 << 0
# fuse_fsync_in.fsync_flags
FSYNC_FDATASYNC = 1 << 0


class NotifyCode(enum.IntEnum):
    """`fuse_out_header.error` of an unsolicited message (unique 0) the daemon sends."""

    POLL = 1
    INVAL_INODE = 2
    INVAL_ENTRY = 3
    STORE = 4
    RETRIEVE = 5
    DELETE = 6


# ---- layouts -----------------------------------------------------------------------------
# fuse_attr: ino size blocks atime mtime ctime (seconds are signed: times before 1970)
#            atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags
_ATTR = "QQQqqqIIIIIIIIII"

IN_HEADER = struct.Struct("=IIQQIIIHH")          # len opcode unique nodeid uid gid pid total_extlen padding
OUT_HEADER = struct.Struct("=IiQ")               # len error unique
ATTR = struct.Struct("=" + _ATTR)
ENTRY_OUT = struct.Struct("=QQQQII" + _ATTR)     # nodeid generation entry_valid attr_valid (+nsec) attr
ATTR_OUT = struct.Struct("=QII" + _ATTR)         # attr_valid attr_valid_nsec dummy attr
KSTATFS = struct.Struct("=QQQQQIIII6I")          # blocks bfree bavail files ffree bsize namelen frsize padding spare
FILE_LOCK = struct.Struct("=QQII")               # start end type pid
FORGET_IN = struct.Struct("=Q")                  # nlookup
FORGET_ONE = struct.Struct("=QQ")                # nodeid nlookup
BATCH_FORGET_IN = struct.Struct("=II")           # count dummy
GETATTR_IN = struct.Struct("=IIQ")               # getattr_flags dummy fh
SETATTR_IN = struct.Struct("=IIQQQqqqIIIIIIII")  # valid padding fh size lock_owner atime mtime ctime
#                                                  atimensec mtimensec ctimensec mode unused4 uid gid unused5
MKNOD_IN = struct.Struct("=IIII")                # mode rdev umask padding
MKDIR_IN = struct.Struct("=II")                  # mode umask
RENAME_IN = struct.Struct("=Q")                  # newdir
RENAME2_IN = struct.Struct("=QII")               # newdir flags padding
LINK_IN = struct.Struct("=Q")                    # oldnodeid
OPEN_IN = struct.Struct("=II")                   # flags open_flags
CREATE_IN = struct.Struct("=IIII")               # flags mode umask open_flags
OPEN_OUT = struct.Struct("=QII")                 # fh open_flags padding
RELEASE_IN = struct.Struct("=QIIQ")              # fh flags release_flags lock_owner
FLUSH_IN = struct.Struct("=QIIQ")                # fh unused padding lock_owner
READ_IN = struct.Struct("=QQIIQII")              # fh offset size read_flags lock_owner flags padding
WRITE_IN = struct.Struct("=QQIIQII")             # fh offset size write_flags lock_owner flags padding
WRITE_OUT = struct.Struct("=II")                 # size padding
FSYNC_IN = struct.Struct("=QII")                 # fh fsync_flags padding
SETXATTR_IN = struct.Struct("=II")               # size flags (without FUSE_SETXATTR_EXT)
GETXATTR_IN = struct.Struct("=II")               # size padding
GETXATTR_OUT = struct.Struct("=II")              # size padding
LK_IN = struct.Struct("=QQQQIIII")               # fh owner lk(start end type pid) lk_flags padding
ACCESS_IN = struct.Struct("=II")                 # mask padding
INIT_IN = struct.Struct("=IIII")                 # major minor max_readahead flags (all kernels)
INIT_IN_FLAGS2 = struct.Struct("=I")             # flags2 at offset 16 (7.36+ kernels)
INIT_OUT = struct.Struct("=IIIIHHIIHHI7I")       # major minor max_readahead flags max_background
#                                                  congestion_threshold max_write time_gran max_pages
#                                                  map_alignment flags2 unused[7]
INTERRUPT_IN = struct.Struct("=Q")               # unique
FALLOCATE_IN = struct.Struct("=QQQII")           # fh offset length mode padding
DIRENT = struct.Struct("=QQII")                  # ino off namelen type, then the name
NOTIFY_INVAL_INODE_OUT = struct.Struct("=Qqq")   # ino off len
NOTIFY_INVAL_ENTRY_OUT = struct.Struct("=QII")   # parent namelen flags
NOTIFY_DELETE_OUT = struct.Struct("=QQII")       # parent child namelen padding

# The sizes linux/fuse.h gives its structs (asserted at import: a wrong format is our bug).
SIZES = {
    IN_HEADER: 40, OUT_HEADER: 16, ATTR: 88, ENTRY_OUT: 128, ATTR_OUT: 104, KSTATFS: 80, FILE_LOCK: 24,
    FORGET_IN: 8, FORGET_ONE: 16, BATCH_FORGET_IN: 8, GETATTR_IN: 16, SETATTR_IN: 88, MKNOD_IN: 16,
    MKDIR_IN: 8, RENAME_IN: 8, RENAME2_IN: 16, LINK_IN: 8, OPEN_IN: 8, CREATE_IN: 16, OPEN_OUT: 16,
    RELEASE_IN: 24, FLUSH_IN: 24, READ_IN: 40, WRITE_IN: 40, WRITE_OUT: 8, FSYNC_IN: 16, SETXATTR_IN: 8,
    GETXATTR_IN: 8, GETXATTR_OUT: 8, LK_IN: 48, ACCESS_IN: 8, INIT_IN: 16, INIT_OUT: 64, INTERRUPT_IN: 8,
    FALLOCATE_IN: 32, DIRENT: 24, NOTIFY_INVAL_INODE_OUT: 24, NOTIFY_INVAL_ENTRY_OUT: 16,
    NOTIFY_DELETE_OUT: 24,
}
for _layout, _size in SIZES.items():
    assert _layout.size == _size, f"{_layout.format} packs {_layout.size} bytes, linux/fuse.h says {_size}"

DIRENTPLUS_HEADER_BYTES = ENTRY_OUT.size + DIRENT.size


def dirent_aligned(length: int) -> int:
    """FUSE_DIRENT_ALIGN: directory records are padded to 8 bytes."""
    return (length + 7) & ~7


# Largest errno a reply may carry: the kernel rejects error <= -512 (ERESTARTSYS) and
# leaves that request unanswered, so out-of-range codes are sent as EIO instead.
ERRNO_MAX = 511
