"""Shared helpers of the metadata tests: namespaces on the memory KV, users, errno checks."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any, Awaitable, Callable, Iterator

from fs3.errors import Fs3Error
from fs3.kv.interface import KvEngine, Transaction, run_transaction
from fs3.kv.memory import MemoryKvEngine
from fs3.meta import FixedClock, MetaConfig, MetaOperator, PathAt, UserInfo, format_namespace
from fs3.meta.store import keys

ROOT = UserInfo(uid=0, gid=0)
ALICE = UserInfo(uid=1000, gid=1000)
BOB = UserInfo(uid=1001, gid=1001, groups=(1000,))
EVE = UserInfo(uid=1002, gid=1002)

CONFIG = MetaConfig(inode_id_batch_size=64, inode_id_shards=8)


def async_test(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an `async def` test body in a fresh event loop."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper


def path(text: str | bytes, parent: int = 0) -> PathAt:
    return PathAt(parent=parent, path=text.encode() if isinstance(text, str) else text)


async def new_operator(
    engine: KvEngine | None = None, *, clock: FixedClock | None = None, root_mode: int = 0o755, config: MetaConfig = CONFIG
) -> MetaOperator:
    engine = engine or MemoryKvEngine()
    clock = clock or FixedClock()
    await format_namespace(engine, config.default_layout, root_mode=root_mode, clock=clock)
    operator = MetaOperator(engine, config=config, clock=clock)
    operator.test_engine = engine  # type: ignore[attr-defined]
    operator.test_clock = clock  # type: ignore[attr-defined]
    return operator


@contextlib.contextmanager
def raises_errno(code: int) -> Iterator[None]:
    try:
        yield
    except Fs3Error as error:
        assert error.code == code, f"expected errno {code}, got {error}"
    else:
        raise AssertionError(f"expected Fs3Error with errno {code}, nothing raised")


async def expect_errno(code: int, awaitable: Awaitable[Any]) -> None:
    with raises_errno(code):
        await awaitable


async def dump_kv(engine: KvEngine, *, skip_allocator: bool = True) -> dict[bytes, bytes]:
    """Every key-value of the engine (allocator counters left out: failed
    ops may have refilled an id batch, which is not a namespace change)."""

    async def body(txn: Transaction) -> dict[bytes, bytes]:
        rows = await txn.get_range(b"", b"\xff")
        return {row.key: row.value for row in rows}

    state = await run_transaction(engine, body)
    if skip_allocator:
        state = {k: v for k, v in state.items() if not k.startswith(keys.INODE_ID_ALLOCATOR_PREFIX)}
    return state


async def expect_errno_unchanged(operator: MetaOperator, code: int, awaitable: Awaitable[Any]) -> None:
    """The op fails with `code` and the KV store is exactly as before."""
    engine = operator.test_engine  # type: ignore[attr-defined]
    before = await dump_kv(engine)
    await expect_errno(code, awaitable)
    after = await dump_kv(engine)
    assert before == after, "a failed op changed the store"


async def names(operator: MetaOperator, directory: str, user: UserInfo = ROOT) -> list[bytes]:
    result = await operator.readdir(user, path(directory), limit=0)
    collected = [entry.name for entry in result.entries]
    for _page in range(10_000):
        if not result.more:
            return collected
        result = await operator.readdir(user, path(directory), after_name=collected[-1])
        collected.extend(entry.name for entry in result.entries)
    raise AssertionError("listing never ended")
