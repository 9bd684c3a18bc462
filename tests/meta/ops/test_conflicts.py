"""Goal: the conflict sets are right - creates in one directory do not
conflict (the hot parent is only blind-written), while a create racing an
rmdir of its directory, or two renames of the same name, do.

Method: run two ops on two transactions interleaved by hand, then commit both.
"""

import random

import pytest

from fs3.kv.interface import TransactionConflict
from fs3.meta.flags import O_CREAT, O_WRONLY
from fs3.meta.ops._common import OpContext
from fs3.meta.ops.create import CreateOp
from fs3.meta.ops.rename import RenameOp
from fs3.meta.ops.rmdir import RmdirOp
from fs3.meta.components.inode_id_allocator import InodeIdAllocator

from tests.meta.helpers import CONFIG, ROOT, async_test, names, new_operator, path


def context(operator) -> OpContext:
    allocator = InodeIdAllocator(operator.test_engine, shards=4, batch_size=8, rng=random.Random(0))
    return OpContext(user=ROOT, config=CONFIG, now_ns=operator.test_clock.now_ns(), allocate_inode_id=allocator.allocate)


async def interleave(engine, first_op, second_op) -> list[bool]:
    """Run both ops before either commits; return which commits succeeded."""
    first_txn, second_txn = engine.create_transaction(), engine.create_transaction()
    await first_op.run(first_txn)
    await second_op.run(second_txn)
    results = []
    for txn in (first_txn, second_txn):
        try:
            await txn.commit()
            results.append(True)
        except TransactionConflict:
            results.append(False)
    return results


@async_test
async def test_creates_in_one_directory_do_not_conflict() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    ctx = context(operator)
    first = CreateOp(ctx, path("/d/a"), 0o644, O_CREAT | O_WRONLY, 0, b"", 1)
    second = CreateOp(ctx, path("/d/b"), 0o644, O_CREAT | O_WRONLY, 0, b"", 2)
    assert await interleave(operator.test_engine, first, second) == [True, True]
    assert await names(operator, "/d") == [b"a", b"b"]


@async_test
async def test_create_conflicts_with_rmdir_of_its_directory() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o755)
    ctx = context(operator)
    create = CreateOp(ctx, path("/d/a"), 0o644, O_CREAT | O_WRONLY, 0, b"", 1)
    rmdir = RmdirOp(ctx, path("/d"))
    assert await interleave(operator.test_engine, create, rmdir) == [True, False]
    assert await names(operator, "/d") == [b"a"]


@pytest.mark.parametrize("relative", [False, True])
@async_test
async def test_create_by_parent_id_conflicts_with_rmdir(relative: bool) -> None:
    operator = await new_operator()
    directory = await operator.mkdir(ROOT, path("/d"), 0o755)
    ctx = context(operator)
    target = path("a", parent=directory.inode_id) if relative else path("/d/a")
    rmdir = RmdirOp(ctx, path("/d"))
    create = CreateOp(ctx, target, 0o644, O_CREAT | O_WRONLY, 0, b"", 1)
    assert await interleave(operator.test_engine, rmdir, create) == [True, False]


@async_test
async def test_two_renames_of_one_name_conflict() -> None:
    operator = await new_operator()
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    ctx = context(operator)
    first = RenameOp(ctx, path("/f"), path("/g"), 0)
    second = RenameOp(ctx, path("/f"), path("/h"), 0)
    assert await interleave(operator.test_engine, first, second) == [True, False]
    assert await names(operator, "/") == [b"g"]


@async_test
async def test_crossing_directory_moves_conflict() -> None:
    """mv /a /b/a and mv /b /a/b together would make a cycle: one must fail."""
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/a"), 0o755)
    await operator.mkdir(ROOT, path("/b"), 0o755)
    ctx = context(operator)
    first = RenameOp(ctx, path("/a"), path("/b/a"), 0)
    second = RenameOp(ctx, path("/b"), path("/a/b"), 0)
    assert await interleave(operator.test_engine, first, second) == [True, False]
