"""Per-connection authentication of the framed RPC, over real loopback sockets.

Goal: a connection must AUTHENTICATE before any other call; calls on an
unauthenticated connection and forged tokens get UNAUTHENTICATED, calls above
the identity's access PERMISSION_DENIED, without closing the connection or
disturbing other clients; a token revoked while its connection is open stops
working once the authenticator's table changes.
"""

from __future__ import annotations

import pytest
import uvloop

from fs3._proto import rpc_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Access, Identity
from fs3.net.client import RpcClient
from fs3.net.server import RpcServer, ServerConfig
from fs3.tokens import token_digest

USER = Identity("alice", 1000, 1000)
SERVICE = Identity("fs3svc", 0, 0, root=True)


class StaticAuthenticator:
    def __init__(self, identities: dict[str, Identity]) -> None:
        self.table = {token_digest(token): identity for token, identity in identities.items()}
        self.version = 1

    async def authenticate(self, token: str):
        digest = token_digest(token)
        if digest not in self.table:
            raise Fs3Error(StatusCode.UNAUTHENTICATED, "unknown token")
        return digest, self.table[digest]

    def identity_of(self, digest: bytes):
        return self.table.get(digest)


async def _serve(authenticator):
    server = RpcServer(ServerConfig(payload_buffer_count=2), authenticator=authenticator)

    async def ping(request, context):
        return rpc_pb2.Pong(nonce=request.nonce, node_id=context.identity.uid)

    server.register(1, rpc_pb2.Ping, ping)
    server.register(11, rpc_pb2.Ping, ping, name="service_only", access=Access.ROOT)
    return server, await server.start("127.0.0.1", 0)


async def _code(call) -> int:
    with pytest.raises(Fs3Error) as refused:
        await call
    return refused.value.code


def test_calls_need_an_authenticated_connection():
    async def main():
        authenticator = StaticAuthenticator({"fs3_alice": USER, "fs3_service": SERVICE})
        server, port = await _serve(authenticator)
        anonymous = RpcClient("127.0.0.1", port)
        forged = RpcClient("127.0.0.1", port, token="fs3_forged")
        alice = RpcClient("127.0.0.1", port, token="fs3_alice")
        service = RpcClient("127.0.0.1", port, token="fs3_service")
        try:
            for _attempt in range(2):  # refused, and the connection stays open
                assert await _code(anonymous.call(1, rpc_pb2.Ping(), rpc_pb2.Pong)) == StatusCode.UNAUTHENTICATED
            assert not anonymous._connection.closed
            assert await _code(forged.call(1, rpc_pb2.Ping(), rpc_pb2.Pong)) == StatusCode.UNAUTHENTICATED
            reply = await alice.call(1, rpc_pb2.Ping(nonce=7), rpc_pb2.Pong)
            assert (reply.message.nonce, reply.message.node_id) == (7, 1000)  # the handler sees the identity
            assert await _code(alice.call(11, rpc_pb2.Ping(), rpc_pb2.Pong)) == StatusCode.PERMISSION_DENIED
            assert (await alice.call(1, rpc_pb2.Ping(nonce=8), rpc_pb2.Pong)).message.nonce == 8
            assert (await service.call(11, rpc_pb2.Ping(nonce=9), rpc_pb2.Pong)).message.nonce == 9

            del authenticator.table[token_digest("fs3_alice")]  # alice removed while connected
            authenticator.version += 1
            assert await _code(alice.call(1, rpc_pb2.Ping(), rpc_pb2.Pong)) == StatusCode.UNAUTHENTICATED
            assert (await service.call(1, rpc_pb2.Ping(nonce=10), rpc_pb2.Pong)).message.nonce == 10
        finally:
            for client in (anonymous, forged, alice, service):
                await client.close()
            await server.stop()

    uvloop.run(main())
