"""Crash consistency of a storage service under SIGKILL, end to end (long: --slow).

Goal: a storage process killed with SIGKILL at random moments while a client
writes, then restarted, never loses a write it acknowledged and never returns
torn data. Method: replication 1 (so nothing else holds a copy), one writer
overwriting 256 KiB regions of a few files with fresh random data; every
region's acknowledged content is recorded; a kill lands at a random moment
in the stream and the service is restarted at once (the client retries its
write until the service serves again). After FS3_CRASH_KILLS kills (default
200) every region must read back as its last acknowledged content, or, for a
region whose last write failed, as exactly that attempted content: never a
mix.
"""

from __future__ import annotations

import asyncio
import os
import random
import time

import pytest

from fs3.client import Fs3Client
from fs3.errors import Fs3Error
from tests.conftest import run_async, running_cluster

REGION_BYTES = 256 << 10
REGIONS_PER_FILE = 16  # 4 MiB files: 4 chunks of 1 MiB, 4 regions each
FILES = 4


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_sigkill_during_writes_never_loses_acknowledged_data(tmp_path):
    kills = int(os.environ.get("FS3_CRASH_KILLS", "200"))
    seed = int(os.environ.get("FS3_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"crash soak seed {seed} ({kills} kills)")
    rng = random.Random(seed)
    with running_cluster(
        tmp_path / "cluster", meta_services=1, storage_services=1, targets_per_storage=2,
        replication_factor=1, heartbeat_timeout_s=2.0, slot_file_bytes=8 << 20,
    ) as cluster:
        storage = next(name for name, service in cluster.services.items() if service.module == "fs3.storage")

        async def main() -> None:
            client = await Fs3Client.connect(cluster.mgmtd_addresses)
            try:
                acknowledged: dict[tuple[int, int], bytes] = {}
                attempted: dict[tuple[int, int], bytes] = {}
                files = []
                for index in range(FILES):
                    file = await client.open(f"/crash-{index}", "w+b")
                    zero = bytes(REGION_BYTES)
                    for region in range(REGIONS_PER_FILE):
                        await file.pwrite(zero, region * REGION_BYTES)
                        acknowledged[(index, region)] = zero
                    files.append(file)

                counts = {"acknowledged": 0, "failed": 0, "acknowledged_since_kill": 0, "kills_with_progress": 0}

                async def writer(stop: asyncio.Event) -> None:
                    while not stop.is_set():
                        key = (rng.randrange(FILES), rng.randrange(REGIONS_PER_FILE))
                        data = os.urandom(REGION_BYTES)
                        attempted[key] = data
                        try:
                            await files[key[0]].pwrite(data, key[1] * REGION_BYTES)
                        except Fs3Error:
                            counts["failed"] += 1
                            continue  # unacknowledged: either old or exactly `data` may be there
                        acknowledged[key] = data
                        attempted.pop(key, None)
                        counts["acknowledged"] += 1
                        counts["acknowledged_since_kill"] += 1

                stop = asyncio.Event()
                task = asyncio.get_running_loop().create_task(writer(stop))
                loop = asyncio.get_running_loop()
                for kill in range(kills):
                    # Kill only once writes flow again (the service recovered), at a random moment among them.
                    resumed_by = loop.time() + 120
                    while counts["acknowledged_since_kill"] < 2:
                        assert loop.time() < resumed_by, f"seed {seed}: no write acknowledged after kill {kill}"
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(rng.uniform(0.0, 0.2))
                    if counts["acknowledged_since_kill"]:
                        counts["kills_with_progress"] += 1
                    counts["acknowledged_since_kill"] = 0
                    await loop.run_in_executor(None, cluster.kill_service, storage)
                    await loop.run_in_executor(None, cluster.start_service, storage)
                stop.set()
                await asyncio.wait_for(task, 120)
                for file in files:
                    await file.close()

                mismatches = []
                buffer = bytearray(REGION_BYTES)
                for index in range(FILES):
                    async with await client.open(f"/crash-{index}", "rb") as file:
                        for region in range(REGIONS_PER_FILE):
                            count = await file.preadinto(buffer, region * REGION_BYTES)
                            assert count == REGION_BYTES
                            allowed = [acknowledged[(index, region)]]
                            if (index, region) in attempted:
                                allowed.append(attempted[(index, region)])
                            if bytes(buffer) not in allowed:
                                mismatches.append((index, region))
                assert not mismatches, f"seed {seed}: regions lost or torn: {mismatches}"
                print(f"writes: {counts}")
                assert counts["kills_with_progress"] == kills, counts
            finally:
                await client.close()

        started = time.monotonic()
        run_async(main())
        print(f"{kills} kills in {time.monotonic() - started:.0f}s")
