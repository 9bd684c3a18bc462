"""A service's copy of the user table, against a scripted cluster manager.

Goal: a token the copy does not know triggers one refresh (so a new user can
connect at once), at most once per refresh interval (forged tokens cannot
flood the cluster manager); an unknown token is refused UNAUTHENTICATED, and
UNAVAILABLE while the table never loaded and the manager is unreachable; a
removed user's digest stops resolving after a refresh.
"""

from __future__ import annotations

import asyncio

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Identity
from fs3.mgmtd.user_table import UserTable
from fs3.tokens import token_digest

ALICE = Identity("alice", 1000, 1000)
BOB = Identity("bob", 1001, 1001)


class ScriptedManager:
    """Answers get_user_table from `table`, counting calls; `down` makes it unreachable."""

    def __init__(self) -> None:
        self.version = 1
        self.table = {token_digest("fs3_alice"): ALICE}
        self.calls = 0
        self.down = False

    async def get_user_table(self, known_version: int = 0):
        self.calls += 1
        if self.down:
            raise Fs3Error(StatusCode.UNAVAILABLE, "cluster manager unreachable")
        if known_version == self.version:
            return None
        return self.version, list(self.table.items())


def test_refresh_on_unknown_tokens_is_bounded():
    async def main():
        manager = ScriptedManager()
        now = [100.0]
        table = UserTable(manager, refresh_min_s=0.5, monotonic=lambda: now[0])
        digest, identity = await table.authenticate("fs3_alice")  # never loaded: the miss loads it
        assert identity == ALICE and digest == token_digest("fs3_alice") and manager.calls == 1
        manager.table[token_digest("fs3_bob")] = BOB
        manager.version = 2
        # Added a moment after the last refresh: bob's first connection waits for the next one, and gets in.
        assert (await table.authenticate("fs3_bob"))[1] == BOB
        assert manager.calls == 2 and table.version == 2
        for _burst in range(2):  # many forged tokens at once share one refresh
            refusals = await asyncio.gather(*(table.authenticate(f"fs3_forged_{n}") for n in range(20)),
                                            return_exceptions=True)
            assert all(isinstance(error, Fs3Error) and error.code == StatusCode.UNAUTHENTICATED
                       for error in refusals)
        assert manager.calls == 4
        with pytest.raises(Fs3Error):
            await table.authenticate("")
        del manager.table[token_digest("fs3_bob")]
        manager.version = 3
        assert await table.refresh()
        assert table.identity_of(token_digest("fs3_bob")) is None
        assert table.identity_of(token_digest("fs3_alice")) == ALICE

    asyncio.run(main())


def test_an_unreachable_manager():
    async def main():
        manager = ScriptedManager()
        manager.down = True
        table = UserTable(manager, refresh_min_s=1.0)
        with pytest.raises(Fs3Error) as refused:
            await table.authenticate("fs3_alice")
        assert refused.value.code == StatusCode.UNAVAILABLE
        manager.down = False
        await table.refresh()
        manager.down = True
        assert (await table.authenticate("fs3_alice"))[1] == ALICE  # the last copy keeps serving
        await asyncio.sleep(0)
        with pytest.raises(Fs3Error) as refused:
            await table.authenticate("fs3_forged")
        assert refused.value.code == StatusCode.UNAUTHENTICATED

    asyncio.run(main())
