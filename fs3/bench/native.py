"""Native-client benchmark: fs3 throughput as a ratio of the local disk's, same run.

Steps, all in one run so the machine's mood is the same for each:
1. a scratch local cluster (replication as asked) under the work folder;
2. `rounds` times, alternating (a slow spell of this shared machine then
   hits both sides alike):
   a. reference: sequential write then read of a file on the same disk
      with O_DIRECT and the same block size, one request at a time (like
      `dd oflag=direct`), the write ending with fsync; the first round
      allocates the file, later ones overwrite it;
   b. native client: write a new file of the same size with `depth` blocks
      in flight (the first round allocates the targets' slot files, later
      ones reuse the slots of the removed files of earlier rounds), then read
      it back (timed), then read it again checking every block's CRC32C
      (untimed: the disk reference checks nothing);
3. metadata: `stat` round trips through the client, p50 and p99.
The report gives medians and each round's ratios.

The client and the storage services share this host, so payloads move
through the client's registered shared memory (`fs3/net/shared_memory`);
`tcp_only` keeps them in the TCP frames, as between hosts without RDMA.
The report says how many payload bytes took each way.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import shutil
import statistics
import tempfile
import time

import crc32c
import uvloop

from fs3.cpu_latency import CpuLatencyLimit
from pathlib import Path

from fs3.local.cluster import LocalCluster, LocalClusterSpec

__all__ = ["run_native_benchmark", "format_report", "disk_direct_io_rates"]

MiB = 1 << 20


def _aligned_buffer(size: int) -> mmap.mmap:
    buffer = mmap.mmap(-1, size)
    buffer.write(os.urandom(min(size, 1 << 20)) * (size // min(size, 1 << 20)))
    return buffer


def disk_direct_io_rates(folder: str, size_bytes: int, block_bytes: int, *, keep: bool = False) -> dict[str, float]:
    """Sequential O_DIRECT write and read rates (MB/s) of the disk under `folder`.

    The file is written in place if it exists (`keep` leaves it for the next call): fs3's chunk
    engine reuses the slots of removed chunks, so its later rounds overwrite allocated space too."""
    path = os.path.join(folder, "disk-reference.bin")
    buffer = _aligned_buffer(block_bytes)
    view = memoryview(buffer)
    blocks = size_bytes // block_bytes
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        started = time.perf_counter()
        for index in range(blocks):
            os.pwritev(fd, [view], index * block_bytes)
        os.fsync(fd)
        write_seconds = time.perf_counter() - started
    finally:
        os.close(fd)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    try:
        started = time.perf_counter()
        for index in range(blocks):
            os.preadv(fd, [view], index * block_bytes)
        read_seconds = time.perf_counter() - started
    finally:
        os.close(fd)
        if not keep:
            os.unlink(path)
    view.release()
    buffer.close()
    total = blocks * block_bytes
    return {"write_mb_s": total / write_seconds / 1e6, "read_mb_s": total / read_seconds / 1e6}


async def _fs3_round(client, path: str, size_bytes: int, block_bytes: int, depth: int) -> dict[str, float]:
    """Write a new file of `size_bytes` with `depth` blocks in flight, read it (timed), read it again
    checking every block (untimed), remove it."""
    pattern = memoryview(bytearray(os.urandom(block_bytes)))
    pattern_crc32c = crc32c.crc32c(pattern)
    blocks = size_bytes // block_bytes
    window = asyncio.Semaphore(depth)

    async with await client.open(path, "wb") as file:
        async def write_block(index: int) -> None:
            async with window:
                await file.pwrite(pattern, index * block_bytes)

        started = time.perf_counter()
        await asyncio.gather(*(write_block(index) for index in range(blocks)))
    write_seconds = time.perf_counter() - started

    buffers = [memoryview(bytearray(block_bytes)) for _ in range(depth)]
    mismatches = 0
    async with await client.open(path, "rb") as file:
        free = asyncio.Queue(maxsize=depth)
        for buffer in buffers:
            free.put_nowait(buffer)

        async def read_block(index: int, verify: bool) -> None:
            nonlocal mismatches
            buffer = await free.get()
            try:
                count = await file.preadinto(buffer, index * block_bytes)
                if count != block_bytes or (verify and crc32c.crc32c(buffer) != pattern_crc32c):
                    mismatches += 1
            finally:
                free.put_nowait(buffer)

        # timed like the disk reference (which checks nothing); every block is then read again and checked
        started = time.perf_counter()
        await asyncio.gather(*(read_block(index, False) for index in range(blocks)))
        read_seconds = time.perf_counter() - started
        await asyncio.gather(*(read_block(index, True) for index in range(blocks)))
    if mismatches:
        raise AssertionError(f"{mismatches} blocks read back differently")
    await client.unlink(path)
    total = blocks * block_bytes
    return {"write_mb_s": total / write_seconds / 1e6, "read_mb_s": total / read_seconds / 1e6}


async def _stat_latencies(client, path: str, calls: int = 2000) -> dict[str, float]:
    async with await client.open(path, "wb"):
        pass
    latencies = []
    for _ in range(calls):
        started = time.perf_counter()
        await client.stat(path)
        latencies.append(time.perf_counter() - started)
    latencies.sort()
    await client.unlink(path)
    return {"stat_p50_us": statistics.median(latencies) * 1e6,
            "stat_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6}


async def _alternating_rounds(mgmtd_address: str, token: str, folder: str, size_bytes: int, block_bytes: int,
                              depth: int, rounds: int, tcp_only: bool) -> dict:
    """Per round the disk reference, then fs3: a slow spell of this shared machine hits both alike."""
    from fs3.client import Fs3Client
    from fs3.client.client import ClientConfig
    from fs3.net.shared_memory.paths import SharedMemoryConfig
    from fs3.client.storage_client import StorageClientConfig

    config = ClientConfig(storage=StorageClientConfig(shared_memory=SharedMemoryConfig(enabled=not tcp_only)))
    client = await Fs3Client.connect([mgmtd_address], token=token, config=config)
    try:
        loop = asyncio.get_running_loop()
        measured = []
        for index in range(rounds):
            disk = await loop.run_in_executor(None, lambda: disk_direct_io_rates(
                folder, size_bytes, block_bytes, keep=index + 1 < rounds))
            fs3 = await _fs3_round(client, f"/bench-{index}.bin", size_bytes, block_bytes, depth)
            measured.append({"disk": disk, "fs3": fs3, "write_ratio": fs3["write_mb_s"] / disk["write_mb_s"],
                             "read_ratio": fs3["read_mb_s"] / disk["read_mb_s"]})
        latencies = await _stat_latencies(client, "/bench-stat")
        return {"rounds": measured, "latencies": latencies, "payload_bytes": dict(client.storage.payload_bytes)}
    finally:
        await client.close()


def run_native_benchmark(
    *, size_mib: int = 1024, block_kib: int = 1024, depth: int = 16, replication: int = 1,
    work_dir: str | None = None, storage_services: int = 1, targets_per_storage: int = 4, cpu_latency_us: int = -1,
    tcp_only: bool = False, rounds: int = 5,
) -> dict:
    """Run the whole benchmark; returns a report dict (see format_report).

    Figures are medians over `rounds`: of each MB/s, and of each round's ratio to the disk."""
    size_bytes = size_mib * MiB
    block_bytes = block_kib * 1024
    assert block_bytes % 4096 == 0, "block size must be a multiple of 4 KiB for O_DIRECT"
    assert rounds >= 1
    folder = tempfile.mkdtemp(prefix="fs3-bench-", dir=work_dir or os.environ.get("FS3_BENCH_DIR", "/var/tmp"))
    cluster = LocalCluster(
        Path(folder) / "cluster",
        LocalClusterSpec(meta_services=1, storage_services=max(storage_services, replication),
                         targets_per_storage=targets_per_storage, replication_factor=replication),
    )
    with CpuLatencyLimit(cpu_latency_us) as latency_limit:  # the same for the disk reference and for fs3
        held = latency_limit.held
        try:
            cluster.up(timeout_s=90)
            # on uvloop, as the services and the CLI run (the client library works on any asyncio loop)
            measured = uvloop.run(_alternating_rounds(cluster.mgmtd_address, cluster.token, folder, size_bytes,
                                                      block_bytes, depth, rounds, tcp_only))
        finally:
            cluster.down()
            shutil.rmtree(folder, ignore_errors=True)  # the bench's own scratch folder, also under --work-dir
    per_round = measured["rounds"]

    def median(side: str, key: str) -> float:
        return statistics.median(entry[side][key] if side else entry[key] for entry in per_round)

    disk = {key: median("disk", key) for key in ("write_mb_s", "read_mb_s")}
    fs3 = {**{key: median("fs3", key) for key in ("write_mb_s", "read_mb_s")}, **measured["latencies"],
           "payload_bytes": measured["payload_bytes"]}
    return {
        "size_mib": size_mib, "block_kib": block_kib, "depth": depth, "replication": replication,
        "transport": "tcp" if tcp_only else "shared memory where the storage service shares the host",
        "cpu_latency_limit_us": cpu_latency_us if held else -1,
        "disk": disk, "fs3": fs3, "rounds": per_round,
        "write_ratio": median("", "write_ratio"),
        "read_ratio": median("", "read_ratio"),
        "write_ratio_to_disk_over_replication": median("", "write_ratio") * replication,
    }


def format_report(report: dict) -> str:
    disk, fs3 = report["disk"], report["fs3"]
    rounds = report["rounds"]
    lines = [
        f"fs3 native client benchmark: {report['size_mib']} MiB file, {report['block_kib']} KiB requests, "
        f"depth {report['depth']}, replication {report['replication']}, {len(rounds)} rounds "
        "(disk then fs3 in each; medians)",
        f"  local disk O_DIRECT   write {disk['write_mb_s']:8.0f} MB/s   read {disk['read_mb_s']:8.0f} MB/s",
        f"  fs3 native client     write {fs3['write_mb_s']:8.0f} MB/s   read {fs3['read_mb_s']:8.0f} MB/s",
        f"  ratio to disk         write {report['write_ratio']:8.2f}x       read {report['read_ratio']:8.2f}x",
        "  per round             write " + " ".join(f"{entry['write_ratio']:.2f}x" for entry in rounds)
        + "   read " + " ".join(f"{entry['read_ratio']:.2f}x" for entry in rounds),
        f"  metadata stat round trip: p50 {fs3['stat_p50_us']:.0f} us, p99 {fs3['stat_p99_us']:.0f} us",
        f"  payloads: {_share(fs3['payload_bytes'], 'shared_memory')} through shared memory, "
        f"{_share(fs3['payload_bytes'], 'tcp')} over TCP",
        "  CPU wake-up latency limit (PM QoS): " + (f"{report['cpu_latency_limit_us']} us, whole run"
                                                   if report["cpu_latency_limit_us"] >= 0 else "none"),
    ]
    if report["replication"] > 1:
        lines.append(f"  write vs disk/{report['replication']}: {report['write_ratio_to_disk_over_replication']:.2f}x")
    return "\n".join(lines)


def _share(payload_bytes: dict[str, int], way: str) -> str:
    total = sum(payload_bytes.values())
    return f"{100 * payload_bytes[way] / total:.0f}%" if total else "0%"
