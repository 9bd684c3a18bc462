"""Errors that cross process boundaries.

One status-code space for every RPC: POSIX errno values (what a file system
call returns to a user) and fs3 codes at 1000 and above (what services tell
each other). `Fs3Error` carries one code and a precise message; RPC layers
encode it as an `RpcError` and decode it back into the same exception.

`assert` is for our own bugs; `Fs3Error` is for what callers, peers and disks
cause.
"""

from __future__ import annotations

import enum
import errno as _errno
import os

__all__ = ["StatusCode", "Fs3Error", "fs_error"]


class StatusCode(enum.IntEnum):
    """fs3-specific status codes (POSIX errno values are used as they are)."""

    OK = 0
    STALE_CHAIN_VERSION = 1001
    UNKNOWN_CHAIN = 1002
    UNKNOWN_TARGET = 1003
    CHECKSUM_MISMATCH = 1004
    CHUNK_PENDING = 1005
    TARGET_NOT_SERVING = 1006
    BAD_REQUEST = 1007
    UNKNOWN_METHOD = 1008
    INTERNAL = 1009
    TIMEOUT = 1010
    NOT_PRIMARY = 1011
    CHUNK_NOT_FOUND = 1012
    OFFSET_OUT_OF_RANGE = 1013
    UNAUTHENTICATED = 1014
    PERMISSION_DENIED = 1015
    UNAVAILABLE = 1016
    UNKNOWN_NODE = 1017
    ROUTING_NOT_READY = 1018
    CHUNK_CORRUPTED = 1019
    FRAME_TOO_LARGE = 1020
    UNKNOWN_REGION = 1021  # a shared memory region the service does not (or no longer) know: register again


def code_name(code: int) -> str:
    """A readable name for any status code: 'ENOENT', 'STALE_CHAIN_VERSION', ..."""
    try:
        return StatusCode(code).name
    except ValueError:
        return _errno.errorcode.get(code, f"CODE_{code}")


class Fs3Error(Exception):
    """An error with a status code that a caller can act on.

    Args:
        code: a POSIX errno value or a StatusCode.
        message: what exactly was wrong, for the person reading it.
    """

    def __init__(self, code: int, message: str = "") -> None:
        assert code != 0, "an error needs a non-zero code"
        self.code = int(code)
        self.message = message or (os.strerror(code) if code < 1000 else code_name(code))
        super().__init__(f"{code_name(self.code)}: {self.message}")

    @property
    def is_posix(self) -> bool:
        return self.code < 1000

    def to_os_error(self) -> OSError:
        """The OSError a file system API should raise for this error."""
        code = self.code if self.is_posix else _errno.EIO
        return OSError(code, f"{os.strerror(code)}: {self.message}")


def fs_error(errno_value: int, message: str = "") -> Fs3Error:
    """Shorthand: `raise fs_error(errno.ENOENT, 'no such file: /a')`."""
    return Fs3Error(errno_value, message)
