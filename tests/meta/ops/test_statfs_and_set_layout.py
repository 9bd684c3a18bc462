"""Goal: statfs reports the capacity provider's bytes and counts inodes;
set_layout is root's, validates its bounds, and new children inherit it."""

import errno

from fs3.kv.memory import MemoryKvEngine
from fs3.meta import Capacity, FixedClock, MetaOperator, format_namespace
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ALICE, CONFIG, ROOT, async_test, expect_errno_unchanged, new_operator, path


@async_test
async def test_statfs() -> None:
    engine = MemoryKvEngine()
    await format_namespace(engine, CONFIG.default_layout, clock=FixedClock())
    async def capacity() -> Capacity:
        return Capacity(total_bytes=1000, free_bytes=400)

    operator = MetaOperator(engine, config=CONFIG, capacity=capacity)
    before = await operator.statfs(ALICE)
    assert (before.total_bytes, before.free_bytes) == (1000, 400)
    assert before.total_files == CONFIG.statfs_files_max and before.free_files == before.total_files - 1
    await operator.mkdir(ROOT, path("/d"), 0o755)
    await operator.create(ROOT, path("/d/f"), 0o644, O_CREAT | O_WRONLY)
    after = await operator.statfs(ALICE)
    assert after.free_files == before.free_files - 2 and after.name_bytes_max == 255
    assert (await (await new_operator()).statfs(ROOT)).total_bytes == 0  # no provider: nothing known


@async_test
async def test_set_layout_is_inherited() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o777)
    updated = await operator.set_layout(ROOT, path("/d"), chain_table_id=2, chunk_size=4 << 20, stripe_size=4)
    assert updated.layout.chain_table_id == 2 and updated.layout.chunk_size == 4 << 20
    child = await operator.mkdir(ALICE, path("/d/e"), 0o755)
    assert child.layout == updated.layout
    file = (await operator.create(ALICE, path("/d/e/f"), 0o644, O_CREAT | O_WRONLY)).inode
    assert (file.layout.chain_table_id, file.layout.chunk_size, file.layout.stripe_size) == (2, 4 << 20, 4)
    old = (await operator.stat(ROOT, path("/"))).layout
    assert old.chunk_size == CONFIG.default_layout.chunk_size  # others keep theirs


@async_test
async def test_set_layout_errors() -> None:
    operator = await new_operator()
    await operator.mkdir(ROOT, path("/d"), 0o777)
    await operator.create(ROOT, path("/f"), 0o644, O_CREAT | O_WRONLY)
    good = dict(chain_table_id=1, chunk_size=1 << 20, stripe_size=2)
    await expect_errno_unchanged(operator, errno.EPERM, operator.set_layout(ALICE, path("/d"), **good))
    await expect_errno_unchanged(operator, errno.ENOTDIR, operator.set_layout(ROOT, path("/f"), **good))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.set_layout(ROOT, path("/d"), **{**good, "chunk_size": 3 << 20}))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.set_layout(ROOT, path("/d"), **{**good, "chunk_size": 1024}))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.set_layout(ROOT, path("/d"), **{**good, "stripe_size": 0}))
    await expect_errno_unchanged(operator, errno.EINVAL, operator.set_layout(ROOT, path("/d"), **{**good, "chain_table_id": 0}))
