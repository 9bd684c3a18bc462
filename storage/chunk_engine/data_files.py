"""Disk I/O helpers: alignment, direct I/O probing, full positional
reads/writes over a pair of descriptors (O_DIRECT and buffered) of one slot
file, and the mapping of OS errors to typed errors."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

from fs3.errors import Fs3Error

from .types import DIRECT_IO_ALIGNMENT_BYTES

__all__ = [
    "O_DIRECT",
    "probe_direct_io",
    "round_up",
    "round_down",
    "read_full",
    "write_full",
    "punch_hole",
    "disk_error",
]

O_DIRECT = getattr(os, "O_DIRECT", 0)


def round_up(value: int, alignment: int = DIRECT_IO_ALIGNMENT_BYTES) -> int:
    return (value + alignment - 1) // alignment * alignment


def round_down(value: int, alignment: int = DIRECT_IO_ALIGNMENT_BYTES) -> int:
    return value // alignment * alignment


def probe_direct_io(directory: str) -> bool:
    """Whether O_DIRECT works for aligned I/O in `directory` (tmpfs and some
    overlay file systems refuse it with EINVAL)."""
    if not O_DIRECT:
        return False
    path = os.path.join(directory, ".direct_io_probe")
    buffer = mmap.mmap(-1, DIRECT_IO_ALIGNMENT_BYTES)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | O_DIRECT | os.O_CLOEXEC, 0o600)
        try:
            os.pwritev(fd, [buffer], 0)
            os.preadv(fd, [buffer], 0)
        finally:
            os.close(fd)
        return True
    except OSError as error:
        if error.errno == errno.EINVAL:
            return False
        raise
    finally:
        buffer.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def read_full(direct_fd: int, buffered_fd: int, into: memoryview, offset: int) -> int:
    """Read until `into` is full or end of file; returns bytes read.

    Starts on `direct_fd` (-1 = buffered only; `into`, `offset` and the length
    must then be 4096-aligned). A short direct read leaves an unaligned
    position, so the rest goes through `buffered_fd`. The descriptors are
    shared between threads, so their flags are never changed.
    """
    done = 0
    total = len(into)
    fd = direct_fd if direct_fd >= 0 else buffered_fd
    while done < total:
        count = os.preadv(fd, [into[done:]], offset + done)
        if count == 0:
            break
        done += count
        if done < total and (offset + done) % DIRECT_IO_ALIGNMENT_BYTES:
            fd = buffered_fd
    return done


def write_full(direct_fd: int, buffered_fd: int, data: memoryview, offset: int) -> None:
    """Write all of `data` at `offset` (pwritev may write less than asked),
    direct if `direct_fd` >= 0 (as long as the position stays aligned)."""
    done = 0
    total = len(data)
    fd = direct_fd if direct_fd >= 0 else buffered_fd
    while done < total:
        count = os.pwritev(fd, [data[done:]], offset + done)
        assert count > 0, "pwritev wrote nothing without an error"
        done += count
        if done < total and (offset + done) % DIRECT_IO_ALIGNMENT_BYTES:
            fd = buffered_fd


_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02
_libc = ctypes.CDLL(None, use_errno=True)
_fallocate = getattr(_libc, "fallocate", None)
if _fallocate is not None:
    _fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    _fallocate.restype = ctypes.c_int


def punch_hole(fd: int, offset: int, length: int) -> None:
    """Give the disk blocks of a byte range back to the file system, keeping the file's size
    (fallocate PUNCH_HOLE; os has no binding for it). Raises OSError (EOPNOTSUPP where unsupported)."""
    if _fallocate is None:
        raise OSError(errno.EOPNOTSUPP, "fallocate is not available")
    if _fallocate(fd, _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE, offset, length) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def disk_error(error: OSError, what: str) -> Fs3Error:
    """The typed error for a failed disk operation: full -> ENOSPC, else EIO."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fs3Error(errno.ENOSPC, f"no space left while {what}")
    return Fs3Error(errno.EIO, f"disk error while {what}: {error}")
