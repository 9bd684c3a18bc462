"""Data files of chunk versions: names, and full reads/writes with direct I/O.

Each chunk version's content is one immutable file
`chunks/<2 hex>/<24 hex chunk id>.<version>.<file generation>`. The 2-hex
directory spreads files over 256 directories by a hash of the chunk id (inode
ids are sequential, so their leading bytes would not spread). Files are never
modified after their metadata references them, so readers holding an open
file descriptor always see one consistent version.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os

import crc32c

from fs3.errors import Fs3Error

from .types import DIRECT_IO_ALIGNMENT_BYTES, ChunkId

__all__ = [
    "CHUNKS_DIRECTORY",
    "data_file_name",
    "data_file_relative_path",
    "parse_data_file_name",
    "probe_direct_io",
    "round_up",
    "round_down",
    "read_full",
    "write_full",
    "set_direct",
    "disk_error",
]

CHUNKS_DIRECTORY = "chunks"
O_DIRECT = getattr(os, "O_DIRECT", 0)


def round_up(value: int, alignment: int = DIRECT_IO_ALIGNMENT_BYTES) -> int:
    return (value + alignment - 1) // alignment * alignment


def round_down(value: int, alignment: int = DIRECT_IO_ALIGNMENT_BYTES) -> int:
    return value // alignment * alignment


def data_file_name(chunk_id: ChunkId, version: int, file_generation: int) -> str:
    assert version > 0 and file_generation > 0, (version, file_generation)
    return f"{chunk_id.to_bytes().hex()}.{version}.{file_generation}"


def data_file_relative_path(chunk_id: ChunkId, version: int, file_generation: int) -> str:
    directory = f"{crc32c.crc32c(chunk_id.to_bytes()) & 0xFF:02x}"
    return os.path.join(CHUNKS_DIRECTORY, directory, data_file_name(chunk_id, version, file_generation))


def parse_data_file_name(name: str) -> tuple[ChunkId, int, int] | None:
    """(chunk id, version, file generation) of a data file name, None if not one."""
    parts = name.split(".")
    if len(parts) != 3 or len(parts[0]) != 24:
        return None
    try:
        chunk_id = ChunkId.from_bytes(bytes.fromhex(parts[0]))
        version, file_generation = int(parts[1]), int(parts[2])
    except (ValueError, Fs3Error):
        return None
    if version <= 0 or file_generation <= 0:
        return None
    return chunk_id, version, file_generation


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


def set_direct(fd: int, direct: bool) -> None:
    """Switch O_DIRECT on one open file (Linux allows it in F_SETFL), so the
    unaligned tail of a file goes through the page cache on the same fd."""
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    wanted = flags | O_DIRECT if direct else flags & ~O_DIRECT
    if wanted != flags:
        fcntl.fcntl(fd, fcntl.F_SETFL, wanted)


def read_full(fd: int, into: memoryview, offset: int) -> int:
    """Read until `into` is full or end of file; returns bytes read.

    A short read in the middle of a direct read leaves an unaligned position,
    so the rest goes through the page cache.
    """
    done = 0
    total = len(into)
    while done < total:
        count = os.preadv(fd, [into[done:]], offset + done)
        if count == 0:
            break
        done += count
        if done < total and (offset + done) % DIRECT_IO_ALIGNMENT_BYTES:
            set_direct(fd, False)
    return done


def write_full(fd: int, data: memoryview, offset: int) -> None:
    """Write all of `data` at `offset` (pwritev may write less than asked)."""
    done = 0
    total = len(data)
    while done < total:
        count = os.pwritev(fd, [data[done:]], offset + done)
        assert count > 0, "pwritev wrote nothing without an error"
        done += count
        if done < total and (offset + done) % DIRECT_IO_ALIGNMENT_BYTES:
            set_direct(fd, False)


def disk_error(error: OSError, what: str) -> Fs3Error:
    """The typed error for a failed disk operation: full -> ENOSPC, else EIO."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return Fs3Error(errno.ENOSPC, f"no space left while {what}")
    return Fs3Error(errno.EIO, f"disk error while {what}: {error}")
