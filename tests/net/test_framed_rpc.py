"""The framed RPC transport over real loopback sockets, server and client in one loop.

Goal: payloads arrive intact in the caller's own buffer, errors keep their
codes, and malformed input is refused without taking the server down.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import uvloop

from fs3._proto import rpc_pb2, storage_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.net.client import RpcClient
from fs3.net.frame import HEADER_SIZE, FrameHeader, FrameLimits
from fs3.net.server import RpcServer, ServerConfig


async def _serve(limits: FrameLimits = FrameLimits()):
    server = RpcServer(ServerConfig(payload_buffer_count=4, limits=limits))
    stored = bytearray()

    async def ping(request, context):
        return rpc_pb2.Pong(nonce=request.nonce)

    async def write(request, context):
        stored[:] = context.payload
        return storage_pb2.WriteChunkResponse(chunk_length=len(context.payload))

    async def read(request, context):
        context.set_reply_payload([memoryview(stored)[request.offset : request.offset + request.length]])
        return storage_pb2.ReadChunkResponse(length=min(request.length, len(stored) - request.offset))

    async def fail(request, context):
        raise Fs3Error(StatusCode.CHUNK_PENDING, "pending")

    async def crash(request, context):
        raise RuntimeError("bug")

    server.register(1, rpc_pb2.Ping, ping)
    server.register(12, storage_pb2.WriteChunkRequest, write)
    server.register(13, storage_pb2.ReadChunkRequest, read)
    server.register(14, rpc_pb2.Ping, fail)
    server.register(15, rpc_pb2.Ping, crash)
    port = await server.start("127.0.0.1", 0)
    return server, port


def test_payload_round_trip_lands_in_the_callers_buffer():
    async def main():
        server, port = await _serve()
        client = RpcClient("127.0.0.1", port)
        try:
            data = os.urandom(3 << 20)  # larger than the pooled buffers
            reply = await client.call(12, storage_pb2.WriteChunkRequest(), storage_pb2.WriteChunkResponse,
                                      payload=[memoryview(data)[:1000], memoryview(data)[1000:]])
            assert reply.message.chunk_length == len(data)
            into = memoryview(bytearray(len(data)))
            reply = await client.call(13, storage_pb2.ReadChunkRequest(offset=0, length=len(data)),
                                      storage_pb2.ReadChunkResponse, into=into)
            assert reply.payload.obj is into.obj
            assert into == data
        finally:
            await client.close()
            await server.stop()

    uvloop.run(main())


def test_many_calls_in_flight_on_one_connection():
    async def main():
        server, port = await _serve()
        client = RpcClient("127.0.0.1", port)
        try:
            replies = await asyncio.gather(*(client.call(1, rpc_pb2.Ping(nonce=n), rpc_pb2.Pong) for n in range(500)))
            assert [reply.message.nonce for reply in replies] == list(range(500))
        finally:
            await client.close()
            await server.stop()

    uvloop.run(main())


def test_handler_errors_keep_their_code_and_bugs_answer_internal():
    async def main():
        server, port = await _serve()
        client = RpcClient("127.0.0.1", port)
        try:
            with pytest.raises(Fs3Error) as caught:
                await client.call(14, rpc_pb2.Ping(), rpc_pb2.Pong)
            assert caught.value.code == StatusCode.CHUNK_PENDING
            with pytest.raises(Fs3Error) as caught:
                await client.call(15, rpc_pb2.Ping(), rpc_pb2.Pong)
            assert caught.value.code == StatusCode.INTERNAL
            with pytest.raises(Fs3Error) as caught:
                await client.call(77, rpc_pb2.Ping(), rpc_pb2.Pong)
            assert caught.value.code == StatusCode.UNKNOWN_METHOD
            assert (await client.call(1, rpc_pb2.Ping(nonce=9), rpc_pb2.Pong)).message.nonce == 9
        finally:
            await client.close()
            await server.stop()

    uvloop.run(main())


def _read_reply(data: bytes) -> tuple[FrameHeader, bytes]:
    header = FrameHeader.unpack_from(data, 0, FrameLimits())
    return header, data[HEADER_SIZE : HEADER_SIZE + header.message_length]


def test_malformed_frames_are_refused_and_the_server_keeps_serving():
    async def main():
        server, port = await _serve(FrameLimits(message_bytes_max=4096, payload_bytes_max=1 << 20))
        try:
            # garbage: an error reply, then the connection is closed
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x00" * 64)
            data = await asyncio.wait_for(reader.read(), 5)
            header, _message = _read_reply(data)
            assert header.status == StatusCode.BAD_REQUEST
            writer.close()
            # an over-limit payload length is refused before anything is allocated
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(FrameHeader(2, 0, 0, 1, 0, 1 << 30).pack())
            data = await asyncio.wait_for(reader.read(), 5)
            assert _read_reply(data)[0].status == StatusCode.FRAME_TOO_LARGE
            writer.close()
            # an undecodable message: BAD_REQUEST, and the same connection still works
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(FrameHeader(1, 0, 0, 5, 3, 0).pack() + b"\xff\xff\xff")
            writer.write(FrameHeader(1, 0, 0, 6, 2, 0).pack() + rpc_pb2.Ping(nonce=3).SerializeToString())
            first = await asyncio.wait_for(reader.readexactly(HEADER_SIZE), 5)
            header = FrameHeader.unpack_from(first, 0, FrameLimits())
            await reader.readexactly(header.message_length)
            assert (header.request_id, header.status) == (5, StatusCode.BAD_REQUEST)
            second = await asyncio.wait_for(reader.readexactly(HEADER_SIZE), 5)
            header = FrameHeader.unpack_from(second, 0, FrameLimits())
            pong = rpc_pb2.Pong.FromString(await reader.readexactly(header.message_length))
            assert (header.request_id, header.status, pong.nonce) == (6, 0, 3)
            writer.close()
            client = RpcClient("127.0.0.1", port)
            assert (await client.call(1, rpc_pb2.Ping(nonce=4), rpc_pb2.Pong)).message.nonce == 4
            await client.close()
        finally:
            await server.stop()

    uvloop.run(main())


def test_unreachable_peer_and_timeouts_are_typed_errors():
    async def main():
        server, port = await _serve()
        await server.stop()
        client = RpcClient("127.0.0.1", port)
        with pytest.raises(Fs3Error) as caught:
            await client.call(1, rpc_pb2.Ping(), rpc_pb2.Pong)
        assert caught.value.code == StatusCode.UNAVAILABLE
        await client.close()

        slow = RpcServer()

        async def sleepy(request, context):
            await asyncio.sleep(5)
            return rpc_pb2.Pong()

        slow.register(1, rpc_pb2.Ping, sleepy)
        port = await slow.start("127.0.0.1", 0)
        client = RpcClient("127.0.0.1", port)
        with pytest.raises(Fs3Error) as caught:
            await client.call(1, rpc_pb2.Ping(), rpc_pb2.Pong, timeout_s=0.1)
        assert caught.value.code == StatusCode.TIMEOUT
        await client.close()
        await slow.stop()

    uvloop.run(main())
