"""Framed RPC server: decode a request, call its handler, encode the reply.

Handlers are `async def handler(request, context) -> response` where request
and response are protobuf messages. A handler reports an error by raising
`Fs3Error`; anything else is a bug, logged with its traceback and answered
with INTERNAL so the caller gets an answer and the service keeps running.

Bounds: each connection runs at most `inflight_requests_max` handlers at once
(reading pauses beyond that); incoming payloads land in buffers from a
`BufferPool` that are returned when the handler finishes.

Authentication is per connection: its first call is AUTHENTICATE with a token,
which the server's `Authenticator` turns into an `Identity` (hashing the token
once); later calls cost one attribute check, plus a table lookup when the
authenticator's user table changed (a removed user or rotated token stops
working on connections already open). A call on a connection that is not
authenticated gets UNAUTHENTICATED, a method the identity may not call
PERMISSION_DENIED; neither closes the connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import time
from typing import Awaitable, Callable, Protocol, Sequence

from google.protobuf.message import DecodeError, Message

from fs3._proto import common_pb2, rpc_pb2
from fs3.codec.users import identity_to_proto
from fs3.errors import Fs3Error, StatusCode, code_name
from fs3.identity import UNCHECKED_IDENTITY, Access, Identity
from fs3.metrics import RPC_CALLS, RPC_SECONDS
from fs3.net.buffer_pool import BufferPool
from fs3.net.connection import FrameConnection
from fs3.net.frame import FLAG_RESPONSE, FrameHeader, FrameLimits
from fs3.net.methods import CommonMethod

__all__ = ["RpcServer", "RpcContext", "ServerConfig", "Authenticator"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerConfig:
    inflight_requests_max: int = 128
    payload_buffer_bytes: int = (1 << 20)
    payload_buffer_count: int = 64
    limits: FrameLimits = FrameLimits()


class Authenticator(Protocol):
    """Turns tokens into identities for an RpcServer (services: `fs3.mgmtd.user_table.UserTable`)."""

    @property
    def version(self) -> int:
        """Changes whenever a token's identity may have changed (users removed, tokens rotated)."""
        ...

    async def authenticate(self, token: str) -> tuple[bytes, Identity]:
        """(token digest, identity); raises Fs3Error UNAUTHENTICATED for an unknown token."""
        ...

    def identity_of(self, digest: bytes) -> Identity | None:
        """The identity of a token digest now (None: no longer valid)."""
        ...


class RpcContext:
    """What a handler knows about its call besides the request message."""

    __slots__ = ("peer", "payload", "identity", "_reply_payload", "_reply_release")

    def __init__(self, peer: object, payload: memoryview | None) -> None:
        self.peer = peer
        self.payload = payload  # valid until the handler returns
        self.identity: Identity = UNCHECKED_IDENTITY  # the connection's authenticated user
        self._reply_payload: Sequence[memoryview | bytes] = ()
        self._reply_release: Callable[[], None] | None = None

    def set_reply_payload(
        self, buffers: Sequence[memoryview | bytes], release: Callable[[], None] | None = None
    ) -> None:
        """Send `buffers` after the reply message; `release` runs once they are sent."""
        assert not self._reply_payload, "reply payload set twice"
        self._reply_payload = buffers
        self._reply_release = release


Handler = Callable[[Message, RpcContext], Awaitable[Message]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Method:
    request_type: type[Message]
    handler: Handler
    name: str
    access: Access


class RpcServer:
    """A TCP server for the framed protocol with registered methods.

    Args:
        authenticator: checks the tokens of connections; None turns
            authentication off (every connection acts as an unchecked root:
            tests of the transport only; service processes always pass one).
    """

    def __init__(self, config: ServerConfig = ServerConfig(), name: str = "rpc",
                 authenticator: Authenticator | None = None) -> None:
        self.config = config
        self.name = name
        self.authenticator = authenticator
        self._methods: dict[int, _Method] = {}
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_ServerConnection] = set()
        self.payload_pool = BufferPool(config.payload_buffer_bytes, config.payload_buffer_count)
        self.port = 0
        self.service_label = name.split("-")[0]
        self._metrics: dict[tuple[str, str], tuple] = {}

    def register(self, method_id: int, request_type: type[Message], handler: Handler, name: str = "", *,
                 access: Access = Access.ANY_USER) -> None:
        assert method_id not in self._methods, f"method {method_id} registered twice"
        assert method_id != CommonMethod.AUTHENTICATE, "AUTHENTICATE is answered by the server itself"
        self._methods[method_id] = _Method(request_type, handler, name or handler.__name__, access)

    def _observe(self, method_id: int, status: str, seconds: float) -> None:
        method = self._methods.get(method_id)
        name = method.name if method is not None else (
            "authenticate" if method_id == CommonMethod.AUTHENTICATE else "unknown")
        metrics = self._metrics.get((name, status))
        if metrics is None:
            metrics = self._metrics[(name, status)] = (
                RPC_CALLS.labels(self.service_label, name, status),
                RPC_SECONDS.labels(self.service_label, name),
            )
        metrics[0].inc()
        metrics[1].observe(seconds)

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _ServerConnection(self), host, port, reuse_address=True, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for connection in list(self._connections):
                connection.close()
            await self._server.wait_closed()
            self._server = None


class _ServerConnection(FrameConnection):
    def __init__(self, server: RpcServer) -> None:
        super().__init__(server.config.limits)
        self.server = server
        self.inflight = 0
        self.reading_paused = False
        self.peer: object = None
        # Who this connection acts as (None: not authenticated), from the token with this digest,
        # as of the authenticator's version `_identity_version`.
        self.identity: Identity | None = UNCHECKED_IDENTITY if server.authenticator is None else None
        self._token_digest = b""
        self._identity_version = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server._connections.add(self)

    def connection_closed(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)

    def payload_sink(self, header: FrameHeader, message: bytes) -> tuple[memoryview, object] | None:
        buffer = self.server.payload_pool.acquire(header.payload_length)
        return buffer.view, buffer

    def protocol_error(self, error: Fs3Error) -> None:
        logger.warning("%s: bad frame from %s: %s", self.server.name, self.peer, error)
        try:
            self._send_error(0, 0, error)
        except ConnectionError:
            pass
        self.close()

    def frame_received(self, header: FrameHeader, message: bytes, payload: memoryview | None, owner: object) -> None:
        if header.is_response:
            if owner is not None:
                owner.release()  # type: ignore[attr-defined]
            self.protocol_error(Fs3Error(StatusCode.BAD_REQUEST, "server received a response frame"))
            return
        self.inflight += 1
        if self.inflight >= self.server.config.inflight_requests_max and not self.reading_paused:
            self.reading_paused = True
            assert self.transport is not None
            self.transport.pause_reading()
        asyncio.get_running_loop().create_task(self._serve(header, message, payload, owner))

    async def _serve(self, header: FrameHeader, message: bytes, payload: memoryview | None, owner: object) -> None:
        context = RpcContext(self.peer, payload)
        started = time.perf_counter()
        status = "OK"
        try:
            response = await self._dispatch(header, message, context)
            self._send_response(header, response, context)
            if context._reply_release is not None:
                await self.wait_drained()
        except Fs3Error as error:
            status = code_name(error.code)
            self._try_send_error(header, error)
        except ConnectionError:
            status = "DISCONNECTED"
        except Exception as error:  # a bug: keep serving, tell the caller
            status = "INTERNAL"
            logger.exception("%s: handler for method %d failed", self.server.name, header.method_id)
            self._try_send_error(header, Fs3Error(StatusCode.INTERNAL, f"internal error: {error!r}"))
        finally:
            self._release(context, owner)
            self.inflight -= 1
            self.server._observe(header.method_id, status, time.perf_counter() - started)
            if self.reading_paused and self.inflight < self.server.config.inflight_requests_max // 2:
                self.reading_paused = False
                if self.transport is not None and not self.closed:
                    self.transport.resume_reading()

    def _release(self, context: RpcContext, owner: object) -> None:
        """Return the call's buffers; a failure here must not stall the connection."""
        try:
            if context._reply_release is not None:
                context._reply_release()
        except Exception:
            logger.exception("%s: releasing a reply buffer failed", self.server.name)
        try:
            if owner is not None:
                owner.release()  # type: ignore[attr-defined]
        except Exception:
            logger.exception("%s: releasing a request buffer failed", self.server.name)

    async def _dispatch(self, header: FrameHeader, message: bytes, context: RpcContext) -> Message:
        if header.method_id == CommonMethod.AUTHENTICATE:
            return await self._authenticate(message)
        identity = self._current_identity()
        if identity is None:
            raise Fs3Error(StatusCode.UNAUTHENTICATED,
                           f"{self.server.name}: connection not authenticated (send AUTHENTICATE with a valid token)")
        method = self.server._methods.get(header.method_id)
        if method is None:
            raise Fs3Error(StatusCode.UNKNOWN_METHOD, f"unknown method id {header.method_id}")
        if method.access is not Access.ANY_USER and not method.access.permits(identity):
            raise Fs3Error(StatusCode.PERMISSION_DENIED,
                           f"{self.server.name}: {method.name} is for {method.access.value}, not {identity.describe()}")
        context.identity = identity
        request = method.request_type()
        try:
            request.ParseFromString(message)
        except (DecodeError, ValueError, RuntimeError) as error:
            raise Fs3Error(
                StatusCode.BAD_REQUEST, f"{method.name}: request does not decode as {method.request_type.__name__}: {error}"
            ) from None
        return await method.handler(request, context)

    def _current_identity(self) -> Identity | None:
        """The connection's identity, re-read once after each change of the user table."""
        authenticator = self.server.authenticator
        if authenticator is None or self.identity is None or self._identity_version == authenticator.version:
            return self.identity
        self.identity = authenticator.identity_of(self._token_digest)
        self._identity_version = authenticator.version
        return self.identity

    async def _authenticate(self, message: bytes) -> rpc_pb2.AuthenticateResponse:
        request = rpc_pb2.AuthenticateRequest()
        try:
            request.ParseFromString(message)
        except (DecodeError, ValueError, RuntimeError) as error:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"AUTHENTICATE does not decode: {error}") from None
        authenticator = self.server.authenticator
        if authenticator is None:
            return rpc_pb2.AuthenticateResponse(user=identity_to_proto(UNCHECKED_IDENTITY))
        self.identity = None  # a failed attempt leaves the connection unauthenticated
        digest, identity = await authenticator.authenticate(request.token)
        self.identity, self._token_digest, self._identity_version = identity, digest, authenticator.version
        return rpc_pb2.AuthenticateResponse(user=identity_to_proto(identity))

    def _send_response(self, request_header: FrameHeader, response: Message, context: RpcContext) -> None:
        body = response.SerializeToString()
        payload = context._reply_payload
        payload_length = sum(len(part) for part in payload)
        header = FrameHeader(request_header.method_id, FLAG_RESPONSE, 0, request_header.request_id, len(body), payload_length)
        self.send_frame(header, body, payload)

    def _try_send_error(self, request_header: FrameHeader, error: Fs3Error) -> None:
        try:
            self._send_error(request_header.method_id, request_header.request_id, error)
        except ConnectionError:
            pass

    def _send_error(self, method_id: int, request_id: int, error: Fs3Error) -> None:
        body = common_pb2.RpcError(code=error.code, message=error.message).SerializeToString()
        header = FrameHeader(method_id, FLAG_RESPONSE, error.code, request_id, len(body), 0)
        self.send_frame(header, body)
