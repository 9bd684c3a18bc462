"""The registration exchange on a storage service's shared-memory socket.

A client connects to the service's abstract Unix socket and sends one
request, its memory file descriptor riding along (SCM_RIGHTS) with the first
byte; the service answers once. The connection then stays open for as long as
the region is registered: when it closes (the client closed it or died), the
service forgets the region.

    request: magic "F3SM", version u16, reserved u16, token bytes u32, region bytes u64, token
    reply:   magic "F3SR", status u32, node id u32, region id u64, message bytes u16, message (UTF-8)

Status 0 is success; any other value is an fs3 status code and the message
says what was wrong.
"""

from __future__ import annotations

import dataclasses
import struct

__all__ = ["RegistrationRequest", "RegistrationReply", "REQUEST_HEADER", "REPLY_HEADER", "TOKEN_BYTES_MAX",
           "MESSAGE_BYTES_MAX", "WireError"]

REQUEST_HEADER = struct.Struct("<4sHHIQ")
REPLY_HEADER = struct.Struct("<4sIIQH")
_REQUEST_MAGIC = b"F3SM"
_REPLY_MAGIC = b"F3SR"
VERSION = 1
TOKEN_BYTES_MAX = 4096
MESSAGE_BYTES_MAX = 1024


class WireError(ValueError):
    """Bytes that are not a registration message."""


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrationRequest:
    token: str
    region_bytes: int

    def pack(self) -> bytes:
        token = self.token.encode()
        assert len(token) <= TOKEN_BYTES_MAX, "token too long"
        return REQUEST_HEADER.pack(_REQUEST_MAGIC, VERSION, 0, len(token), self.region_bytes) + token

    @staticmethod
    def unpack_header(header: bytes) -> tuple[int, int]:
        """(token bytes, region bytes) from a request header."""
        magic, version, _reserved, token_bytes, region_bytes = REQUEST_HEADER.unpack(header)
        if magic != _REQUEST_MAGIC:
            raise WireError(f"not a shared memory registration (magic {magic!r})")
        if version != VERSION:
            raise WireError(f"registration version {version} not supported (this service speaks {VERSION})")
        if token_bytes > TOKEN_BYTES_MAX:
            raise WireError(f"token of {token_bytes} bytes exceeds {TOKEN_BYTES_MAX}")
        return token_bytes, region_bytes


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrationReply:
    status: int
    node_id: int = 0
    region_id: int = 0
    message: str = ""

    def pack(self) -> bytes:
        message = self.message.encode()[:MESSAGE_BYTES_MAX]
        return REPLY_HEADER.pack(_REPLY_MAGIC, self.status, self.node_id, self.region_id, len(message)) + message

    @staticmethod
    def unpack_header(header: bytes) -> tuple["RegistrationReply", int]:
        """The reply without its message, and the message's length."""
        magic, status, node_id, region_id, message_bytes = REPLY_HEADER.unpack(header)
        if magic != _REPLY_MAGIC:
            raise WireError(f"not a shared memory registration reply (magic {magic!r})")
        if message_bytes > MESSAGE_BYTES_MAX:
            raise WireError(f"reply message of {message_bytes} bytes exceeds {MESSAGE_BYTES_MAX}")
        return RegistrationReply(status, node_id, region_id), message_bytes
