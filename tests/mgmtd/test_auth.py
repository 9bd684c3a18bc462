"""Token checks on the cluster manager's gRPC calls, on an in-process gRPC server.

Goal: the interceptor refuses absent and forged tokens (UNAUTHENTICATED), lets
only admins call an admin RPC, including one nobody has listed yet (the
default), and `require_admin()` inside a servicer turns a non-admin away with
PERMISSION_DENIED; the fs3 code reaches the caller in trailing metadata. A
secondary answers NOT_PRIMARY without looking at tokens.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from fs3._proto import users_pb2
from fs3.errors import Fs3Error, StatusCode
from fs3.kv import open_engine
from fs3.mgmtd import auth
from fs3.mgmtd.auth import TokenInterceptor, bearer_metadata, current_caller, require_admin
from fs3.mgmtd.service import FS3_CODE_METADATA_KEY
from fs3.mgmtd.users import UserStore


async def _serve(users_of):
    async def set_config(request, context):  # an admin RPC no table lists: admins only by default
        return users_pb2.WhoAmIResponse(user=users_pb2.User(name=current_caller().name))

    async def guarded(request, context):  # open to everyone by the table, guarded in the servicer
        require_admin("set-config")
        return users_pb2.WhoAmIResponse(user=users_pb2.User(name=current_caller().name))

    def unary(behavior):
        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=users_pb2.WhoAmIRequest.FromString,
            response_serializer=users_pb2.WhoAmIResponse.SerializeToString)

    server = grpc.aio.server(interceptors=[TokenInterceptor(users_of)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "fs3.Test", {"SetConfig": unary(set_config), "Guarded": unary(guarded)})])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


async def _call(channel, method: str, token: str | None) -> tuple[str | None, int]:
    """(caller name, 0) on success, else (None, fs3 code)."""
    stub = channel.unary_unary(method, request_serializer=users_pb2.WhoAmIRequest.SerializeToString,
                               response_deserializer=users_pb2.WhoAmIResponse.FromString)
    try:
        reply = await stub(users_pb2.WhoAmIRequest(), metadata=bearer_metadata(token) if token else None, timeout=5)
        return reply.user.name, 0
    except grpc.aio.AioRpcError as error:
        codes = [int(value) for key, value in error.trailing_metadata() or () if key == FS3_CODE_METADATA_KEY]
        assert codes, f"no fs3 code in {error}"
        return None, codes[0]


def test_tokens_and_admin_guards(monkeypatch):
    monkeypatch.setitem(auth.METHOD_ACCESS, "/fs3.Test/Guarded", auth.Access.ANY_USER)

    async def main():
        users = UserStore(open_engine("memory://"))
        await users.bootstrap("fs3_root")
        _alice, alice = await users.add("alice", 1000, 1000)
        server, port = await _serve(lambda: users)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                for method in ("/fs3.Test/SetConfig", "/fs3.Test/Guarded"):
                    assert await _call(channel, method, None) == (None, StatusCode.UNAUTHENTICATED)
                    assert await _call(channel, method, "fs3_forged") == (None, StatusCode.UNAUTHENTICATED)
                    assert await _call(channel, method, alice) == (None, StatusCode.PERMISSION_DENIED)
                    assert await _call(channel, method, "fs3_root") == ("root", 0)
        finally:
            await server.stop(None)

    asyncio.run(main())


def test_a_secondary_answers_not_primary():
    def not_primary():
        raise Fs3Error(StatusCode.NOT_PRIMARY, "cluster manager 2 is not primary")

    async def main():
        server, port = await _serve(not_primary)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                assert await _call(channel, "/fs3.Test/SetConfig", None) == (None, StatusCode.NOT_PRIMARY)
        finally:
            await server.stop(None)

    asyncio.run(main())


def test_require_admin_outside_a_call_is_a_bug():
    with pytest.raises(AssertionError):
        require_admin()
