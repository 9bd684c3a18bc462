"""Goal: several metadata operators on one KV store keep the namespace exact
under concurrency: no lost or duplicated entries, exact link counts (of
files and, through the subdirectory counters, of directories), no cycles,
no unreachable inodes but unlinked files still open for writing (nlink 0,
queued for GC).

Method: two MetaOperator instances (like two metadata services) share one
engine - the memory KV, or one SQLite file opened by two engines - and run
operations concurrently with asyncio.gather; afterwards the tree is walked
and checked against the KV store's contents.
"""

from __future__ import annotations

import asyncio
import random

from fs3.kv.interface import KvEngine, Transaction, run_transaction
from fs3.kv.memory import MemoryKvEngine
from fs3.meta import ROOT_INODE_ID, MetaConfig, MetaOperator
from fs3.meta.flags import O_CREAT, O_EXCL, O_WRONLY, RENAME_EXCHANGE
from fs3.errors import Fs3Error
from fs3.meta.store import keys
from fs3.meta.store.gc_queue import list_gc_records
from fs3.meta.store.inode import decode_inode, load_inode

from tests.meta.helpers import CONFIG, ROOT, async_test, names, new_operator, path


async def create_files(operators: list[MetaOperator], count_each: int, batch: int) -> None:
    for start in range(0, count_each, batch):
        await asyncio.gather(*(
            operator.create(ROOT, path(f"/d/op{index}-{number:04d}"), 0o644, O_CREAT | O_EXCL | O_WRONLY)
            for number in range(start, min(start + batch, count_each))
            for index, operator in enumerate(operators)
        ))


async def check_creates(operators: list[MetaOperator], count_each: int) -> None:
    listed = await names(operators[0], "/d")
    expected = sorted(f"op{index}-{number:04d}".encode() for index in range(len(operators)) for number in range(count_each))
    assert listed == expected
    inode_ids = set()
    for name in listed[::50]:
        inode_ids.add((await operators[1].stat(ROOT, path(b"/d/" + name))).inode_id)
    assert len(inode_ids) == len(listed[::50])
    page = await operators[1].readdir(ROOT, path("/d"), limit=len(expected), with_inodes=True)
    assert len({inode.inode_id for inode in page.inodes}) == len(expected)


@async_test
async def test_two_operators_create_1000_files_in_one_directory() -> None:
    engine = MemoryKvEngine()
    first = await new_operator(engine)
    second = MetaOperator(engine, config=CONFIG, rng=random.Random(2))
    await first.mkdir(ROOT, path("/d"), 0o755)
    await create_files([first, second], 500, 50)
    await check_creates([first, second], 500)


@async_test
async def test_two_operators_on_one_sqlite_file(tmp_path) -> None:
    from fs3.kv.embedded import SqliteKvEngine

    database = tmp_path / "meta.db"
    engine_one = SqliteKvEngine(database)
    engine_two = SqliteKvEngine(database)
    try:
        first = await new_operator(engine_one)
        second = MetaOperator(engine_two, config=CONFIG, rng=random.Random(3))
        await first.mkdir(ROOT, path("/d"), 0o755)
        await create_files([first, second], 500, 50)
        await check_creates([first, second], 500)
        await asyncio.gather(*(
            first.unlink(ROOT, path(f"/d/op1-{number:04d}")) for number in range(0, 500, 2)
        ), *(
            second.rename(ROOT, path(f"/d/op0-{number:04d}"), path(f"/d/op1-{number:04d}")) for number in range(1, 500, 2)
        ))
        assert len(await names(second, "/d")) == 500
        await check_namespace(engine_one, initial_files=1000)
    finally:
        await engine_one.close()
        await engine_two.close()


async def check_namespace(engine: KvEngine, *, initial_files: int) -> None:
    """Walk the tree from the root and compare with every inode in the store."""

    async def body(txn: Transaction):
        inode_rows = await txn.get_range(*keys_range(keys.INODE_PREFIX))
        entry_rows = await txn.get_range(*keys_range(keys.DIR_ENTRY_PREFIX))
        directories = [decode_inode(row.value) for row in inode_rows]
        directories = [inode for inode in directories if inode.is_directory]
        nlinks = {directory.inode_id: (await load_inode(txn, directory.inode_id)).nlink for directory in directories}
        return inode_rows, entry_rows, await list_gc_records(txn), nlinks

    inode_rows, entry_rows, gc_records, directory_nlinks = await run_transaction(engine, body)
    inodes = {inode.inode_id: inode for inode in (decode_inode(row.value) for row in inode_rows)}
    children: dict[int, list[int]] = {}
    for row in entry_rows:
        parent_id = int.from_bytes(row.key[4:12], "little")
        inode_id = int.from_bytes(row.value[1:9], "little")
        assert parent_id in inodes and inodes[parent_id].is_directory, "entry in a missing directory"
        assert inode_id in inodes, f"entry points at missing inode {inode_id}"
        children.setdefault(parent_id, []).append(inode_id)
    link_counts: dict[int, int] = {}
    seen_directories = set()
    pending = [ROOT_INODE_ID]
    for _visit in range(len(inodes) + 1):
        if not pending:
            break
        directory_id = pending.pop()
        assert directory_id not in seen_directories, "directory reachable twice: a cycle or duplicate"
        seen_directories.add(directory_id)
        for child_id in children.get(directory_id, []):
            child = inodes[child_id]
            if child.is_directory:
                assert child.parent == directory_id, "stale parent field"
                pending.append(child_id)
            else:
                link_counts[child_id] = link_counts.get(child_id, 0) + 1
    assert not pending
    reachable = seen_directories | set(link_counts)
    queued = {record.inode_id for record in gc_records}
    orphans = set(inodes) - reachable
    for inode_id in orphans:  # unlinked while open for writing: kept for the writer until the GC
        assert inodes[inode_id].nlink == 0 and not inodes[inode_id].is_directory and inode_id in queued, \
            f"unreachable inode {inodes[inode_id]}"
    for inode_id, count in link_counts.items():
        assert inodes[inode_id].nlink == count, f"inode {inode_id} nlink {inodes[inode_id].nlink} != {count}"
    for directory_id in seen_directories:
        subdirectories = sum(inodes[child].is_directory for child in children.get(directory_id, []))
        assert directory_nlinks[directory_id] == 2 + subdirectories, f"directory {directory_id} nlink"
    files = [inode for inode in inodes.values() if not inode.is_directory and inode.nlink > 0]
    assert len(files) + len(gc_records) == initial_files
    assert not queued & reachable


def keys_range(prefix: bytes) -> tuple[bytes, bytes]:
    from fs3.kv.interface import prefix_range

    return prefix_range(prefix)


@async_test
async def test_concurrent_renames_keep_namespace_invariants() -> None:
    engine = MemoryKvEngine()
    config = MetaConfig(inode_id_batch_size=64, inode_id_shards=8, op_retries_max=200)
    first = await new_operator(engine, config=config)
    second = MetaOperator(engine, config=config, rng=random.Random(5))
    operators = [first, second]
    directories = ["/d0", "/d1", "/d2", "/d0/e", "/d1/e"]
    for directory in directories:
        await first.mkdir(ROOT, path(directory), 0o755)
    file_count = 60
    for number in range(file_count):
        await first.create(ROOT, path(f"{directories[number % 3]}/f{number}"), 0o644, O_CREAT | O_WRONLY)
    for number in range(0, file_count, 6):
        await first.link(ROOT, path(f"{directories[number % 3]}/f{number}"), path(f"/d2/h{number}"))
    rng = random.Random(1234)
    all_dirs = ["/d0", "/d1", "/d2", "/d0/e", "/d1/e", "/d2/e", "/d0/e/e", "/d1/e/e", "/d2/e/e"]
    outcomes: dict[str, int] = {}
    expected_errors = {"ENOENT", "EINVAL", "ENOTEMPTY", "EISDIR", "ENOTDIR", "EEXIST"}

    async def one_rename(operator: MetaOperator) -> None:
        # Pick a name that existed a moment ago; racing renames may move it first.
        src_dir = rng.choice(all_dirs)
        try:
            listing = await operator.readdir(ROOT, path(src_dir))
        except Fs3Error:
            listing = None
        if not listing or not listing.entries:
            return
        src = f"{src_dir}/{rng.choice(listing.entries).name.decode()}"
        dst = f"{rng.choice(all_dirs)}/{rng.choice(['x', 'y', 'e', 'f1', 'f2', 'h0'])}"
        flags = rng.choice([0, 0, 0, RENAME_EXCHANGE])
        try:
            await operator.rename(ROOT, path(src), path(dst), flags)
            outcome = "ok"
        except Fs3Error as error:
            outcome = error.args[0].split(":")[0]
            assert outcome in expected_errors, error
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    for _round in range(15):
        await asyncio.gather(*(one_rename(operators[index % 2]) for index in range(40)))
    assert outcomes.get("ok", 0) > 40, outcomes
    await check_namespace(engine, initial_files=file_count)
