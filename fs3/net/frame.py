"""The fixed frame header of the framed RPC protocol (see proto/fs3/_proto/rpc.proto).

A frame is `header | protobuf message | raw payload`. The header has a fixed
size so a receiver knows, before touching the payload, exactly where the
payload goes: straight into a preallocated buffer, never through `bytes`.
"""

from __future__ import annotations

import dataclasses
import struct

from fs3.errors import Fs3Error, StatusCode

__all__ = ["FrameHeader", "HEADER_SIZE", "MAGIC", "FLAG_RESPONSE", "FrameLimits"]

MAGIC = b"FS3F"
FLAG_RESPONSE = 0x1
_FLAGS_KNOWN = FLAG_RESPONSE
_HEADER = struct.Struct("<4sHHIIQII")
HEADER_SIZE = _HEADER.size
assert HEADER_SIZE == 32


@dataclasses.dataclass(frozen=True, slots=True)
class FrameLimits:
    """Upper bounds a receiver enforces before allocating anything."""

    message_bytes_max: int = 1 << 20
    payload_bytes_max: int = 64 << 20


@dataclasses.dataclass(frozen=True, slots=True)
class FrameHeader:
    method_id: int
    flags: int
    status: int
    request_id: int
    message_length: int
    payload_length: int

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)

    def pack_into(self, buffer: bytearray | memoryview, offset: int = 0) -> None:
        _HEADER.pack_into(
            buffer, offset, MAGIC, self.method_id, self.flags, self.status, 0,
            self.request_id, self.message_length, self.payload_length,
        )

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC, self.method_id, self.flags, self.status, 0,
            self.request_id, self.message_length, self.payload_length,
        )

    @classmethod
    def unpack_from(cls, buffer: bytes | bytearray | memoryview, offset: int, limits: FrameLimits) -> "FrameHeader":
        """Decode and validate a header.

        Raises:
            Fs3Error(BAD_REQUEST / FRAME_TOO_LARGE): the peer sent garbage; the
            connection cannot be resynchronised and must be closed.
        """
        magic, method_id, flags, status, _reserved, request_id, message_length, payload_length = (
            _HEADER.unpack_from(buffer, offset)
        )
        if magic != MAGIC:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"bad frame magic {bytes(magic)!r}")
        if flags & ~_FLAGS_KNOWN:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"unknown frame flags {flags:#x}")
        if message_length > limits.message_bytes_max:
            raise Fs3Error(
                StatusCode.FRAME_TOO_LARGE,
                f"message of {message_length} bytes exceeds {limits.message_bytes_max}",
            )
        if payload_length > limits.payload_bytes_max:
            raise Fs3Error(
                StatusCode.FRAME_TOO_LARGE,
                f"payload of {payload_length} bytes exceeds {limits.payload_bytes_max}",
            )
        return cls(method_id, flags, status, request_id, message_length, payload_length)
