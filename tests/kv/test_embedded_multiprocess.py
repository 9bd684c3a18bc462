"""Several real processes on one SQLite KV file: serializability and crash durability.

Each worker is a fresh interpreter running `_WORKER` (subprocess, so kill -9
hits exactly the process we mean).
"""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

from fs3.kv.embedded import SqliteKvEngine
from tests.kv.conformance import read_all, write

REPOSITORY = Path(__file__).resolve().parents[2]
WORKERS = 4
TRANSACTIONS_PER_WORKER = 200
TOKENS = 10
SLOTS = 40

_WORKER = r"""
import asyncio, random, struct, sys
from fs3.kv.embedded import SqliteKvEngine
from fs3.kv.interface import RetryPolicy, run_transaction

path, worker, transactions, slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
policy = RetryPolicy(retries_max=10_000, backoff_initial_s=0.0002, backoff_max_s=0.01, deadline_s=120.0)

async def main():
    engine = SqliteKvEngine(path)
    print("ready", flush=True)
    sys.stdin.readline()  # start together, so the workers really contend
    rng = random.Random(worker)
    attempts = 0

    async def step(txn):
        nonlocal attempts
        attempts += 1
        # (a) read-modify-write of a shared counter, deliberately not atomic_add
        counter = struct.unpack("<q", await txn.get(b"counter"))[0]
        txn.set(b"counter", struct.pack("<q", counter + 1))
        # (b) move a token from slot i to an empty slot j
        source, target = rng.sample(range(slots), 2)
        source_key, target_key = b"token/%03d" % source, b"token/%03d" % target
        token = await txn.get(source_key)
        if token is not None and await txn.get(target_key) is None:
            txn.clear(source_key)
            txn.set(target_key, token)

    for _ in range(transactions):
        await run_transaction(engine, step, policy=policy)
    await engine.close()
    print(f"done {transactions} {attempts}", flush=True)

asyncio.run(main())
"""

_CRASHER = r"""
import asyncio, sys
from fs3.kv.embedded import SqliteKvEngine

async def main():
    engine = SqliteKvEngine(sys.argv[1])
    index = 0
    while True:
        txn = engine.create_transaction()
        txn.set(b"item/%06d" % index, b"value %d" % index)
        txn.atomic_add(b"count", 1)
        await txn.commit()
        print(index, flush=True)
        index += 1

asyncio.run(main())
"""


def _spawn(code: str, *arguments: object) -> subprocess.Popen[str]:
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, arguments)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=REPOSITORY,
    )


def test_concurrent_processes_stay_serializable(tmp_path) -> None:
    path = tmp_path / "kv.db"

    async def setup() -> None:
        engine = SqliteKvEngine(path)
        tokens = {b"token/%03d" % slot: b"token-%d" % slot for slot in range(TOKENS)}
        await write(engine, {b"counter": struct.pack("<q", 0), **tokens})
        await engine.close()

    asyncio.run(setup())
    processes = [_spawn(_WORKER, path, worker, TRANSACTIONS_PER_WORKER, SLOTS) for worker in range(WORKERS)]
    for process in processes:
        assert process.stdout is not None
        if process.stdout.readline() != "ready\n":
            process.kill()
            _, stderr = process.communicate(timeout=10)
            raise AssertionError(f"worker failed to start: {stderr}")
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    attempts_total = 0
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        _, committed, attempts = stdout.split()
        assert int(committed) == TRANSACTIONS_PER_WORKER
        attempts_total += int(attempts)

    async def check() -> None:
        engine = SqliteKvEngine(path)
        everything = await read_all(engine)
        await engine.close()
        assert struct.unpack("<q", everything[b"counter"])[0] == WORKERS * TRANSACTIONS_PER_WORKER
        tokens = sorted(value for key, value in everything.items() if key.startswith(b"token/"))
        assert tokens == sorted(b"token-%d" % slot for slot in range(TOKENS))

    asyncio.run(check())
    # The workload must actually have contended, or it proves nothing.
    assert attempts_total > WORKERS * TRANSACTIONS_PER_WORKER


def test_commits_survive_kill_9(tmp_path) -> None:
    path = tmp_path / "kv.db"
    process = _spawn(_CRASHER, path)
    assert process.stdout is not None
    acknowledged = -1
    deadline_s = time.monotonic() + 30
    while acknowledged < 200 and time.monotonic() < deadline_s:
        line = process.stdout.readline()
        if not line:
            break
        acknowledged = int(line)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert acknowledged >= 200, process.stderr.read() if process.stderr else ""

    async def check() -> None:
        engine = SqliteKvEngine(path)
        items = await read_all(engine, b"item/", b"item0")
        count = await read_all(engine, b"count", b"count\x00")
        await engine.close()
        # Every acknowledged commit is there (the child kept committing until killed,
        # so more may be); commits are atomic and ordered, so they form a prefix.
        assert len(items) >= acknowledged + 1
        assert sorted(items) == [b"item/%06d" % index for index in range(len(items))]
        assert struct.unpack("<q", count[b"count"])[0] == len(items)

    asyncio.run(check())
