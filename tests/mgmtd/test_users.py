"""The cluster manager's user table on a real (in-memory) KV store.

Goal: adds, removals and token rotations take effect at once in memory, are
committed with a bumped users version, and are exactly what a new primary
loads; bad input and lock-out (removing the last admin) are refused with
precise errors; a deposed primary can change nothing.
"""

from __future__ import annotations

import asyncio
import errno

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.kv import open_engine
from fs3.mgmtd.users import UserStore


def _run(coroutine):
    return asyncio.run(coroutine)


def _code(error_info) -> int:
    return error_info.value.code


def test_add_remove_rotate_and_what_a_new_primary_loads():
    async def main():
        engine = open_engine("memory://")
        users = UserStore(engine)
        assert await users.bootstrap("fs3_bootstrap")
        assert not await users.bootstrap("fs3_other")  # only into an empty table
        assert users.identity_of_token("fs3_bootstrap").admin and users.identity_of_token("fs3_bootstrap").root
        alice, alice_token = await users.add("alice", 1000, 1000, (10, 20, 10))
        assert alice.identity.groups == (10, 20)
        assert users.identity_of_token(alice_token) == alice.identity
        assert not alice.identity.admin and not alice.identity.root
        _bob, bob_token = await users.add("bob", 1001, 1001, admin=True)
        version_before = users.version
        _alice, new_alice_token = await users.rotate_token("alice")
        assert users.identity_of_token(alice_token) is None
        assert users.identity_of_token(new_alice_token).name == "alice"
        await users.remove("bob")
        assert users.identity_of_token(bob_token) is None
        assert users.version == version_before + 2

        successor = UserStore(engine)  # what a new primary sees
        await successor.load()
        assert successor.version == users.version
        assert [record.identity for record in successor.records()] == [record.identity for record in users.records()]
        assert successor.identity_of_token(new_alice_token).name == "alice"
        assert successor.identity_of_token(alice_token) is None
        assert successor.identity_of_token("fs3_bootstrap").name == "root"

    _run(main())


def test_bad_input_and_lock_out_are_refused():
    async def main():
        users = UserStore(open_engine("memory://"), users_max=3)
        await users.bootstrap("fs3_root")
        await users.add("alice", 1000, 1000)
        with pytest.raises(Fs3Error) as refused:
            await users.add("alice", 1, 1)
        assert _code(refused) == errno.EEXIST
        for name, uid, gid, groups in (("", 1, 1, ()), ("a b", 1, 1, ()), ("x" * 65, 1, 1, ()),
                                       ("carol", -1, 1, ()), ("carol", 1, 1 << 32, ()),
                                       ("carol", 1, 1, tuple(range(300)))):
            with pytest.raises(Fs3Error) as refused:
                await users.add(name, uid, gid, groups)
            assert _code(refused) == StatusCode.BAD_REQUEST, name
        await users.add("carol", 1002, 1002)
        with pytest.raises(Fs3Error) as refused:
            await users.add("dave", 1003, 1003)
        assert _code(refused) == errno.ENOSPC
        with pytest.raises(Fs3Error) as refused:
            await users.remove("root")
        assert _code(refused) == errno.EPERM and "last admin" in refused.value.message
        for operation in (users.remove, users.rotate_token):
            with pytest.raises(Fs3Error) as refused:
                await operation("nobody")
            assert _code(refused) == errno.ENOENT

    _run(main())


def test_a_deposed_primary_changes_nothing():
    async def main():
        deposed = False

        async def fence(txn):
            if deposed:
                raise Fs3Error(StatusCode.NOT_PRIMARY, "lost the lease")

        engine = open_engine("memory://")
        users = UserStore(engine, fence=fence)
        await users.bootstrap("fs3_root")
        deposed = True
        with pytest.raises(Fs3Error) as refused:
            await users.add("alice", 1000, 1000)
        assert _code(refused) == StatusCode.NOT_PRIMARY
        assert users.get("alice") is None
        fresh = UserStore(engine)
        await fresh.load()
        assert [record.identity.name for record in fresh.records()] == ["root"]

    _run(main())
