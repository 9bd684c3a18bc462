"""Crash test: kill -9 at random moments never loses or tears acknowledged data.

Goal: after SIGKILL at any moment (mid data write, mid metadata commit,
between commit and freeing the old slot, while a slot file is created,
during recovery), every acknowledged chunk reads back intact at its
acknowledged version or at the one write that was in flight, pending
versions are whole, exactly the slots of live versions are in use (those of
cut-short writes are free again), and slot files are complete.
Method: a child process (`crash_writer.py`) writes chunks in a loop and prints
what it is about to write and what was acknowledged; the parent kills it
after a random delay, reopens the target and checks. Set FS3_CRASH_SEED to
replay a run.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time

import crc32c

from fs3.storage.chunk_engine import ChunkEngine, ChunkId

from .helpers import aligned_buffer, slot_files, used_slots

WRITER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "crash_writer.py")
KILLS = 30
TIME_BUDGET_SECONDS = 40
CHUNK_SIZE = 512 * 1024


def run_child_until_killed(target: str, seed: int, rng: random.Random, stderr_path: str) -> list[str]:
    with open(stderr_path, "wb") as stderr:
        child = subprocess.Popen([sys.executable, WRITER, target, str(seed)], stdout=subprocess.PIPE, stderr=stderr)
    first = b""
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.0, 0.15))  # often lands in start-up recovery
    else:
        first = child.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.25))
    child.send_signal(signal.SIGKILL)
    # Read through the same buffered reader as readline: it may already hold
    # more lines (communicate(timeout=...) would read the raw fd and lose them).
    rest = child.stdout.read()
    child.stdout.close()
    child.wait(timeout=30)
    with open(stderr_path, "rb") as stderr:
        assert child.returncode == -signal.SIGKILL, f"child died by itself:\n{stderr.read().decode()}"
    output = (first + rest).decode()
    return output.split("\n")[:-1]  # the last piece is a line cut short by the kill


def verify(target: str, acknowledged: dict[int, tuple[int, int]], in_flight: dict[int, tuple[int, int]],
           outcomes: dict[str, int]) -> dict[int, tuple[int, int]]:
    """Check the target after a kill; returns the pending versions left in it."""
    from .crash_writer import CONFIG

    into = aligned_buffer(CHUNK_SIZE)
    with ChunkEngine(target, config=CONFIG) as engine:
        metas = {meta.chunk_id.chunk_index: meta for meta in engine.list_chunks()}
        live_file_count = 0
        pending_left: dict[int, tuple[int, int]] = {}
        for index in sorted(set(acknowledged) | set(in_flight) | set(metas)):
            meta = metas.get(index)
            allowed = {acknowledged[index]} if index in acknowledged else set()
            if index in in_flight:
                allowed.add(in_flight[index])
            if meta is None or meta.committed_version == 0:
                assert index not in acknowledged, f"acknowledged chunk {index} lost: {meta}"
            else:
                committed = (meta.committed_version, meta.crc32c)
                assert committed in allowed, f"chunk {index}: committed {committed} not in {allowed}"
                live_file_count += 1
            if meta is None:
                continue
            if meta.pending_version:
                # Only write_pending-then-commit leaves one; its content is the in-flight write.
                assert (meta.pending_version, meta.pending_crc32c) == in_flight.get(index), (index, meta)
                assert meta.pending_version == meta.committed_version + 1
                pending_left[index] = (meta.pending_version, meta.pending_crc32c)
                live_file_count += 1
            count = engine.read(ChunkId(1, index), 0, CHUNK_SIZE, into, relaxed=True)
            expected_crc = meta.pending_crc32c if meta.pending_version else meta.crc32c
            expected_length = meta.pending_length if meta.pending_version else meta.length
            assert count == expected_length
            assert crc32c.crc32c(into[:count]) == expected_crc, f"torn content in chunk {index}"
            if meta.committed_version:
                acknowledged[index] = (meta.committed_version, meta.crc32c)
        assert used_slots(engine) == live_file_count, "slots of lost writes were not freed by recovery"
        files = slot_files(target)
        assert not [path for path in files if path.endswith(".tmp")], "half-created slot files survived"
        for path in files:
            assert os.path.getsize(path) == CONFIG.slot_file_bytes, f"slot file {path} not fully allocated"
        # At most ~10 slots of a class are ever in use at once (8 chunks, one
        # writer), so lowest-first allocation needs at most 2 files in each of
        # the 4 classes (64-512 KiB); recovery drops trailing unused ones.
        assert len(files) <= 8, f"{len(files)} slot files for {live_file_count} versions: {files}"
    for index, written in in_flight.items():
        meta = metas.get(index)
        landed = meta is not None and (meta.committed_version, meta.crc32c) == written
        pending = meta is not None and meta.pending_version > 0
        outcomes["in-flight write landed" if landed else "in-flight write pending" if pending
                 else "in-flight write invisible"] += 1
    return pending_left


def test_kill_9_never_loses_or_tears_acknowledged_chunks(tmp_path):
    seed = int(os.environ.get("FS3_CRASH_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    target = str(tmp_path / "target")
    acknowledged: dict[int, tuple[int, int]] = {}
    acknowledged_count = 0
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    kills = 0
    outcomes: collections.Counter[str] = collections.Counter()
    carried_pending: dict[int, tuple[int, int]] = {}
    while kills < KILLS and time.monotonic() < deadline:
        lines = run_child_until_killed(target, rng.randrange(2**32), rng, str(tmp_path / "stderr.txt"))
        kills += 1
        # A pending version left by an earlier kill is still in flight: the
        # child commits it at start-up, or may be killed before it does.
        in_flight = dict(carried_pending)
        for line in lines:
            if line == "READY":
                continue
            kind, index, version, crc = line.split()
            key, value = int(index), (int(version), int(crc))
            if kind == "W":
                in_flight[key] = value
            elif kind == "P":
                outcomes["pending written"] += 1
            else:
                assert kind == "A", line
                previous = acknowledged.get(key, (0, 0))
                assert value[0] > previous[0], f"version went back on chunk {key}: {previous} -> {value}"
                acknowledged[key] = value
                in_flight.pop(key, None)
                acknowledged_count += 1
        try:
            carried_pending = verify(target, acknowledged, in_flight, outcomes)
        except AssertionError as error:
            tail = "\n".join(lines[-12:])
            raise AssertionError(f"crash test failed (FS3_CRASH_SEED={seed}, kill {kills}): {error}\n"
                                 f"last lines of the child:\n{tail}") from error
    print(f"crash test: seed {seed}, {kills} kills, {acknowledged_count} acknowledged writes, {dict(outcomes)}")
    assert kills >= 10, f"only {kills} kills fit in the time budget"
    assert acknowledged_count >= 100, f"only {acknowledged_count} writes acknowledged in {kills} runs"
