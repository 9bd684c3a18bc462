"""INIT: settle the protocol version and the features of the connection.

`negotiate` is a pure function of the kernel's `fuse_init_in`, what the
operations object offers (`Capabilities`) and the session's limits. The
features requested are the ones libfuse 3.14 requested for pyfuse3 (asynchronous
reads, atomic O_TRUNC, big writes, automatic data invalidation, READDIRPLUS
always (never "auto"), asynchronous direct I/O, max_pages; export support if
`supports_dot_lookup`; writeback cache / POSIX ACLs only if the operations ask),
plus the lock features when the operations implement them.
"""

from __future__ import annotations

import dataclasses
import errno
import logging

from fs3.client.fuse.kernel.limits import SessionLimits
from fs3.client.fuse.kernel.protocol import (
    INIT_IN, INIT_IN_FLAGS2, INIT_OUT, KERNEL_VERSION, MINOR_MAX, MINOR_MIN, InitFlag,
)

__all__ = ["Capabilities", "Connection", "InitResult", "negotiate"]

logger = logging.getLogger(__name__)

_ALWAYS_WANTED = (InitFlag.ASYNC_READ | InitFlag.ATOMIC_O_TRUNC | InitFlag.BIG_WRITES | InitFlag.AUTO_INVAL_DATA
                  | InitFlag.DO_READDIRPLUS | InitFlag.ASYNC_DIO | InitFlag.MAX_PAGES)


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What an operations object implements beyond the pyfuse3 surface, and its feature switches."""

    posix_locks: bool = False
    flock: bool = False
    fallocate: bool = False
    dot_lookup: bool = True
    writeback_cache: bool = False
    acl: bool = False

    @classmethod
    def of(cls, operations) -> "Capabilities":
        def has(name: str) -> bool:
            return callable(getattr(operations, name, None))

        return cls(posix_locks=has("getlk") and has("setlk"), flock=has("flock"), fallocate=has("fallocate"),
                   dot_lookup=bool(getattr(operations, "supports_dot_lookup", True)),
                   writeback_cache=bool(getattr(operations, "enable_writeback_cache", False)),
                   acl=bool(getattr(operations, "enable_acl", False)))

    def wanted_flags(self) -> int:
        flags = _ALWAYS_WANTED
        if self.dot_lookup:
            flags |= InitFlag.EXPORT_SUPPORT
        if self.writeback_cache:
            flags |= InitFlag.WRITEBACK_CACHE
        if self.acl:
            flags |= InitFlag.POSIX_ACL
        if self.posix_locks:
            flags |= InitFlag.POSIX_LOCKS
        if self.flock:
            flags |= InitFlag.FLOCK_LOCKS
        return int(flags)


@dataclasses.dataclass(frozen=True, slots=True)
class Connection:
    """The settled connection: protocol minor, features both sides agreed on, sizes."""

    minor: int
    flags: int
    max_readahead: int
    max_write: int
    max_pages: int

    def has(self, flag: InitFlag) -> bool:
        return bool(self.flags & flag)


@dataclasses.dataclass(frozen=True, slots=True)
class InitResult:
    """The INIT reply: an error, or a body; `connection` is None until a usable version is agreed
    (a kernel with a newer major is told ours and sends INIT again)."""

    error: int = 0
    body: bytes = b""
    connection: Connection | None = None


def negotiate(body: bytes, capabilities: Capabilities, limits: SessionLimits) -> InitResult:
    """Answer the kernel's INIT.

    Args:
        body: the request after its fuse_in_header (fuse_init_in: 16 bytes from
            kernels before 7.36, 64 since).
    """
    major, minor, max_readahead, kernel_flags = INIT_IN.unpack_from(body)
    if len(body) >= INIT_IN.size + INIT_IN_FLAGS2.size and kernel_flags & InitFlag.INIT_EXT:
        kernel_flags |= INIT_IN_FLAGS2.unpack_from(body, INIT_IN.size)[0] << 32
    if major > KERNEL_VERSION:
        # the kernel retries INIT with our major
        return InitResult(body=INIT_OUT.pack(KERNEL_VERSION, MINOR_MAX, *([0] * 16)))
    if major < KERNEL_VERSION or minor < MINOR_MIN:
        logger.error("kernel FUSE protocol %d.%d is older than %d.%d", major, minor, KERNEL_VERSION, MINOR_MIN)
        return InitResult(error=errno.EPROTO)
    flags = capabilities.wanted_flags() & kernel_flags
    for feature in (InitFlag.POSIX_LOCKS, InitFlag.FLOCK_LOCKS):
        if capabilities.wanted_flags() & feature and not flags & feature:
            logger.warning("the kernel does not offer %s: locks stay local to this mount", feature.name)
    connection = Connection(minor=min(minor, MINOR_MAX), flags=flags, max_readahead=max_readahead,
                            max_write=limits.max_write_bytes, max_pages=limits.max_pages)
    reply = INIT_OUT.pack(KERNEL_VERSION, connection.minor, max_readahead, flags & 0xFFFFFFFF,
                          limits.max_background, limits.congestion_threshold, limits.max_write_bytes,
                          1,  # time_gran: nanoseconds are kept
                          limits.max_pages, 0, 0, *([0] * 7))
    return InitResult(body=reply, connection=connection)
