"""The FUSE layer alone: a null file system on our kernel layer (and on pyfuse3, if installed).

One file of 2 GiB that reads as a constant 1 MiB buffer and discards
writes, so what is measured is the kernel round trip and the layer's own
work: sequential 1 MiB reads (the mount's bdi read_ahead_kb at 1024, as the
fs3 daemon sets it) and 1 MiB writes, as MB/s and as the serving process's
CPU milliseconds per GiB (steadier than MB/s on a shared machine). Layers
alternate; each prints every round.

Usage: python bench/fuse_layer_bench.py [--rounds 3] [--layers kernel,pyfuse3] [--work-dir /var/tmp]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
FILE_BYTES = 2048 * MIB
WRITE_BYTES = 1024 * MIB
READ_AHEAD_KB = 1024


def serve(mountpoint: str, layer: str) -> None:
    if layer == "pyfuse3":
        import pyfuse3
        import pyfuse3.asyncio

        pyfuse3.asyncio.enable()
    else:
        from fs3.client.fuse import kernel as pyfuse3
    data = memoryview(bytearray(os.urandom(MIB)))

    class Null(pyfuse3.Operations):
        @staticmethod
        def _attributes(inode: int):
            attributes = pyfuse3.EntryAttributes()
            attributes.st_ino = inode
            attributes.st_mode = stat.S_IFDIR | 0o755 if inode == pyfuse3.ROOT_INODE else stat.S_IFREG | 0o644
            attributes.st_size = 0 if inode == pyfuse3.ROOT_INODE else FILE_BYTES
            return attributes

        async def lookup(self, parent_inode, name, ctx=None):
            if name != b"f":
                raise pyfuse3.FUSEError(2)
            return self._attributes(2)

        async def getattr(self, inode, ctx=None):
            return self._attributes(inode)

        async def open(self, inode, flags, ctx):
            return pyfuse3.FileInfo(fh=1, keep_cache=False)

        async def read(self, fh, off, size):
            return data[: min(size, FILE_BYTES - off, MIB)]

        async def write(self, fh, off, buf):
            return len(buf)

        async def flush(self, fh):
            return None

        async def release(self, fh):
            return None

    pyfuse3.init(Null(), mountpoint, {"fsname=null", "subtype=null"})
    try:
        asyncio.run(pyfuse3.main())
    finally:
        pyfuse3.close(unmount=True)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(layer: str, work_dir: str) -> dict[str, tuple[float, float]]:
    """MB/s and server CPU ms per GiB of one read pass and one write pass through a fresh mount."""
    from fs3.client.fuse.mount_control import is_mounted

    mountpoint = tempfile.mkdtemp(prefix=f"fuse-layer-{layer}-", dir=work_dir)
    server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", mountpoint, layer])
    try:
        deadline = time.monotonic() + 30
        while not is_mounted(mountpoint, "fuse.null"):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{layer}: no mount on {mountpoint}")
            time.sleep(0.05)
        device = os.stat(mountpoint).st_dev
        with open(f"/sys/class/bdi/{os.major(device)}:{os.minor(device)}/read_ahead_kb", "w") as file:
            file.write(f"{READ_AHEAD_KB}\n")
        block = memoryview(bytearray(MIB))
        results = {}
        for phase in ("read", "write"):
            cpu_before, started = _cpu_s(server.pid), time.perf_counter()
            with open(os.path.join(mountpoint, "f"), "rb" if phase == "read" else "r+b", buffering=0) as file:
                if phase == "read":
                    total = 0
                    while count := file.readinto(block):
                        total += count
                else:
                    total = WRITE_BYTES
                    for _ in range(WRITE_BYTES // MIB):
                        file.write(block)
            elapsed, cpu = time.perf_counter() - started, _cpu_s(server.pid) - cpu_before
            results[phase] = (total / elapsed / 1e6, cpu * 1000 / (total / 1024 / MIB))
        return results
    finally:
        subprocess.run(["fusermount3", "-u", mountpoint], capture_output=True)
        server.wait(timeout=30)
        os.rmdir(mountpoint)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--layers", default="kernel,pyfuse3", help="comma-separated: kernel, pyfuse3")
    parser.add_argument("--work-dir", default=os.environ.get("FS3_BENCH_DIR", "/var/tmp"))
    arguments = parser.parse_args()
    layers = [layer for layer in arguments.layers.split(",") if layer]
    if "pyfuse3" in layers:
        try:
            import pyfuse3  # noqa: F401
        except ImportError:
            print("pyfuse3 is not installed: measuring our layer only")
            layers.remove("pyfuse3")
    rounds: dict[str, list[dict]] = {layer: [] for layer in layers}
    for _ in range(arguments.rounds):
        for layer in layers:
            rounds[layer].append(measure(layer, arguments.work_dir))
    print(f"FUSE layer alone: 1 MiB reads (read_ahead_kb {READ_AHEAD_KB}) and writes, {arguments.rounds} rounds")
    for layer, results in rounds.items():
        for phase in ("read", "write"):
            rates = [round(result[phase][0]) for result in results]
            cpu = [round(result[phase][1]) for result in results]
            print(f"  {layer:<8} {phase:<5} MB/s {rates}   server CPU ms/GiB {cpu}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
