"""Chunk engine throughput against the disk's own rate, measured side by side.

Sequential 1 MiB `write_committed` and whole-chunk `read` through the chunk
engine, against a plain O_DIRECT 1 MiB write/read loop on the same disk in
the same run (one big new file, the same file overwritten, and one file per
MiB like the old engine's layout). Rounds alternate so that noise from
neighbours hits both sides; compare the ratios, not the absolute figures
(see limits.md).

The engine stores versions in preallocated slot files. On a fresh target
every write lands in fallocated (unwritten) blocks, which costs the file
system about what the baseline's growing file costs; once chunks are
rewritten, freed slots are reused and writes overwrite written blocks
("slots reused" rows: each chunk is written once untimed, then rewritten).

Usage: python bench/chunk_engine_bench.py [--directory /var/tmp] [--size-mib 512] [--rounds 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import mmap
import os
import random
import shutil
import sys
import tempfile
import time

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20


def import_chunk_engine():
    """`fs3.storage` may not be mapped by the editable install yet; load it from the tree."""
    try:
        import fs3.storage  # noqa: F401
    except ModuleNotFoundError:
        import fs3

        path = os.path.join(REPOSITORY_ROOT, "storage", "__init__.py")
        spec = importlib.util.spec_from_file_location("fs3.storage", path,
                                                      submodule_search_locations=[os.path.dirname(path)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["fs3.storage"] = module
        fs3.storage = module
        spec.loader.exec_module(module)
    import fs3.storage.chunk_engine as chunk_engine

    return chunk_engine


def aligned(size: int) -> memoryview:
    view = memoryview(mmap.mmap(-1, size))
    for offset in range(0, size, 4096):
        view[offset] = random.randrange(256)
    return view


def rate(total_bytes: int, seconds: float) -> float:
    return total_bytes / seconds / 1e6


def plain_one_file(directory: str, count: int, buffer: memoryview) -> tuple[float, float]:
    path = os.path.join(directory, "plain.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    try:
        start = time.perf_counter()
        for index in range(count):
            os.pwritev(fd, [buffer], index * MIB)
        write_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for index in range(count):
            assert os.preadv(fd, [buffer], index * MIB) == MIB
        read_seconds = time.perf_counter() - start
    finally:
        os.close(fd)
        os.unlink(path)
    return rate(count * MIB, write_seconds), rate(count * MIB, read_seconds)


def plain_overwrite(directory: str, count: int, buffer: memoryview) -> tuple[float, float]:
    """The same loop into a file whose blocks were all written before."""
    path = os.path.join(directory, "plain-overwrite.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    try:
        for index in range(count):
            os.pwritev(fd, [buffer], index * MIB)
        start = time.perf_counter()
        for index in range(count):
            os.pwritev(fd, [buffer], index * MIB)
        write_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for index in range(count):
            assert os.preadv(fd, [buffer], index * MIB) == MIB
        read_seconds = time.perf_counter() - start
    finally:
        os.close(fd)
        os.unlink(path)
    return rate(count * MIB, write_seconds), rate(count * MIB, read_seconds)


def plain_file_per_chunk(directory: str, count: int, buffer: memoryview) -> tuple[float, float]:
    folder = os.path.join(directory, "plain-files")
    os.makedirs(folder)
    try:
        start = time.perf_counter()
        for index in range(count):
            fd = os.open(os.path.join(folder, str(index)), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o644)
            os.pwritev(fd, [buffer], 0)
            os.close(fd)
        write_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for index in range(count):
            fd = os.open(os.path.join(folder, str(index)), os.O_RDONLY | os.O_DIRECT)
            assert os.preadv(fd, [buffer], 0) == MIB
            os.close(fd)
        read_seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(folder)
    return rate(count * MIB, write_seconds), rate(count * MIB, read_seconds)


def engine_round(chunk_engine, directory: str, count: int, buffer: memoryview, *, aligned_source: bool,
                 two_phase: bool, reuse: bool = False) -> tuple[float, float]:
    folder = os.path.join(directory, "engine-target")
    engine = chunk_engine.ChunkEngine(folder)
    source = buffer if aligned_source else bytes(buffer)
    try:
        if reuse:  # fill the target first: the timed pass then reuses freed slots
            for index in range(count):
                engine.write_committed(chunk_engine.ChunkId(1, index), 0, source, chunk_size=MIB, chain_version=1)
        start = time.perf_counter()
        for index in range(count):
            chunk_id = chunk_engine.ChunkId(1, index)
            if two_phase:
                meta = engine.write_pending(chunk_id, 0, source, chunk_size=MIB, chain_version=1)
                engine.commit(chunk_id, meta.pending_version)
            else:
                engine.write_committed(chunk_id, 0, source, chunk_size=MIB, chain_version=1)
        write_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for index in range(count):
            assert engine.read(chunk_engine.ChunkId(1, index), 0, MIB, buffer) == MIB
        read_seconds = time.perf_counter() - start
    finally:
        engine.close()
        shutil.rmtree(folder)
    return rate(count * MIB, write_seconds), rate(count * MIB, read_seconds)


def random_small_reads(chunk_engine, directory: str, count: int, reads: int) -> tuple[float, float]:
    """4 KiB random reads per second: engine (verifies the whole chunk's CRC)
    vs plain O_DIRECT preads of one file."""
    buffer = aligned(MIB)
    small = aligned(4096)
    folder = os.path.join(directory, "engine-small")
    engine = chunk_engine.ChunkEngine(folder)
    path = os.path.join(directory, "plain-small.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o644)
    try:
        for index in range(count):
            engine.write_committed(chunk_engine.ChunkId(1, index), 0, buffer, chunk_size=MIB, chain_version=1)
            os.pwritev(fd, [buffer], index * MIB)
        picks = [(random.randrange(count), random.randrange(MIB // 4096) * 4096) for _ in range(reads)]
        start = time.perf_counter()
        for index, offset in picks:
            engine.read(chunk_engine.ChunkId(1, index), offset, 4096, small)
        engine_rate = reads / (time.perf_counter() - start)
        start = time.perf_counter()
        for index, offset in picks:
            os.preadv(fd, [small], index * MIB + offset)
        plain_rate = reads / (time.perf_counter() - start)
    finally:
        os.close(fd)
        os.unlink(path)
        engine.close()
        shutil.rmtree(folder)
    return engine_rate, plain_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--directory", default="/var/tmp", help="a folder on the disk to measure")
    parser.add_argument("--size-mib", type=int, default=512, help="MiB written per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--small-reads", type=int, default=2000)
    arguments = parser.parse_args()
    chunk_engine = import_chunk_engine()
    directory = tempfile.mkdtemp(prefix="chunk-engine-bench-", dir=arguments.directory)
    count = arguments.size_mib
    buffer = aligned(MIB)
    print(f"{count} x 1 MiB per measurement in {directory}, {arguments.rounds} rounds")
    print(f"{'round':>5} {'case':<46} {'write MB/s':>10} {'read MB/s':>10} {'w ratio':>8} {'r ratio':>8}")
    try:
        for round_index in range(arguments.rounds):
            base_write, base_read = plain_one_file(directory, count, buffer)
            cases = [
                ("plain O_DIRECT, one file (baseline)", (base_write, base_read)),
                ("plain O_DIRECT, one file, overwrite", plain_overwrite(directory, count, buffer)),
                ("plain O_DIRECT, one file per MiB", plain_file_per_chunk(directory, count, buffer)),
                ("engine write_committed, aligned source", engine_round(
                    chunk_engine, directory, count, buffer, aligned_source=True, two_phase=False)),
                ("engine write_committed, aligned, slots reused", engine_round(
                    chunk_engine, directory, count, buffer, aligned_source=True, two_phase=False, reuse=True)),
                ("engine write_committed, bytes source (copy)", engine_round(
                    chunk_engine, directory, count, buffer, aligned_source=False, two_phase=False)),
                ("engine write_pending + commit, aligned", engine_round(
                    chunk_engine, directory, count, buffer, aligned_source=True, two_phase=True)),
                ("engine write_pending + commit, slots reused", engine_round(
                    chunk_engine, directory, count, buffer, aligned_source=True, two_phase=True, reuse=True)),
            ]
            for name, (write_rate, read_rate) in cases:
                print(f"{round_index:>5} {name:<46} {write_rate:>10.0f} {read_rate:>10.0f} "
                      f"{write_rate / base_write:>8.2f} {read_rate / base_read:>8.2f}")
        engine_iops, plain_iops = random_small_reads(chunk_engine, directory, min(count, 256), arguments.small_reads)
        print(f"random 4 KiB reads: engine {engine_iops:.0f}/s, plain O_DIRECT {plain_iops:.0f}/s "
              f"(ratio {engine_iops / plain_iops:.3f}; the engine reads the whole chunk to check its CRC)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
