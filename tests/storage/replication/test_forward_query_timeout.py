"""A successor that accepts connections but never answers: the head's QueryChunk gives up after
`query_timeout_s` (the chunk's lock is held meanwhile), not after the forward timeout.

Real sockets on 127.0.0.1: a listener that reads everything and replies nothing, and the
forwarder's real RPC client pool (with a token, so the authentication step is bounded too).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import ClientConfig, RpcClientPool
from fs3.routing import ChainInfo, NodeInfo, NodeType, RoutingInfo, TargetInfo
from fs3.storage.chunk_engine import ChunkId
from fs3.storage.replication.forward import RpcForwarder
from fs3.storage.requests import RemoveChunksRequest


async def _silent_peer() -> tuple[asyncio.AbstractServer, list[int]]:
    received = [0]

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 16):
            received[0] += len(data)
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, received


@pytest.mark.parametrize("token", [None, "a-token"])
def test_query_chunk_to_a_silent_successor_times_out_after_the_query_timeout(token):
    async def scenario():
        server, received = await _silent_peer()
        port = server.sockets[0].getsockname()[1]
        routing = RoutingInfo(routing_version=1)
        routing.nodes[2] = NodeInfo(2, NodeType.STORAGE, "127.0.0.1", port)
        routing.chains[7] = ChainInfo(7, 1, [1, 2])
        successor = TargetInfo(2, 2, chain_id=7)
        routing.targets[2] = successor
        clients = RpcClientPool(ClientConfig(call_timeout_s=30.0), token=token)
        forwarder = RpcForwarder(clients, lambda: routing, timeout_s=30.0, query_timeout_s=0.3)
        try:
            started = time.monotonic()
            with pytest.raises(Fs3Error) as raised:
                await forwarder.query_chunk(successor, 7, ChunkId(5, 0))
            elapsed = time.monotonic() - started
        finally:
            await clients.close()
            server.close()
            await server.wait_closed()
        assert raised.value.code == StatusCode.TIMEOUT
        assert 0.25 <= elapsed < 3.0, elapsed
        assert received[0] > 0  # the request (or the authentication) did reach the peer

    asyncio.run(scenario())


def test_query_chunk_behind_another_callers_connect_still_times_out_in_time():
    """Another call (longer timeout) is authenticating a new connection to the silent successor:
    the query waits for that connect under its own bound, not the other call's."""
    async def scenario():
        server, _received = await _silent_peer()
        port = server.sockets[0].getsockname()[1]
        routing = RoutingInfo(routing_version=1)
        routing.nodes[2] = NodeInfo(2, NodeType.STORAGE, "127.0.0.1", port)
        successor = TargetInfo(2, 2, chain_id=7)
        clients = RpcClientPool(ClientConfig(call_timeout_s=30.0), token="a-token")
        forwarder = RpcForwarder(clients, lambda: routing, timeout_s=30.0, query_timeout_s=0.3)
        slow_call = asyncio.create_task(forwarder.forward_remove(successor, RemoveChunksRequest(
            chain_id=7, chain_version=1, target_id=2, inode_id=5, first_chunk_index=0)))
        try:
            await asyncio.sleep(0.2)  # the slow call holds the connect lock, authenticating
            assert not slow_call.done()
            started = time.monotonic()
            with pytest.raises(Fs3Error) as raised:
                await forwarder.query_chunk(successor, 7, ChunkId(5, 0))
            elapsed = time.monotonic() - started
        finally:
            slow_call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Fs3Error):
                await slow_call
            await clients.close()
            server.close()
            await server.wait_closed()
        assert raised.value.code == StatusCode.TIMEOUT
        assert 0.25 <= elapsed < 1.5, elapsed

    asyncio.run(scenario())


def test_query_timeout_defaults_to_the_forward_timeout():
    forwarder = RpcForwarder(RpcClientPool(ClientConfig()), lambda: RoutingInfo(), timeout_s=7.0)
    assert forwarder.query_timeout_s == 7.0
