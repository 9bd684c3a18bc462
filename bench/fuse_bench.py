"""FUSE mount throughput: fs3's daemon against a trivial passthrough, same disk, same run.

Sequential 1 MiB writes (then fsync and close) and 1 MiB reads of one file,
through (1) the fs3 FUSE mount of a scratch local cluster whose targets live
in the work folder, and (2) a minimal passthrough of a folder on the same
disk (the cost of FUSE and Python alone). The passthrough runs on our FUSE
kernel layer (fs3.client.fuse.kernel), like fs3's daemon; with
`--passthrough-layer pyfuse3` (if pyfuse3 is installed; it is no longer a
dependency) the same code runs on pyfuse3 instead, to compare the layers.
The page cache is dropped before each read pass (as root) so reads come
from the disk. Rounds alternate the two; compare the ratios, not the
absolute figures.

Usage: python bench/fuse_bench.py [--size-mib 1024] [--rounds 2] [--replication 1] [--work-dir /var/tmp]
                                  [--passthrough-layer kernel|pyfuse3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MIB = 1 << 20


# ---- the trivial passthrough (run as `fuse_bench.py --serve-passthrough SOURCE MOUNTPOINT LAYER`) ----
def serve_passthrough(source: str, mountpoint: str, layer: str) -> None:
    if layer == "pyfuse3":
        import pyfuse3
        import pyfuse3.asyncio

        pyfuse3.asyncio.enable()
    else:
        from fs3.client.fuse import kernel as pyfuse3  # the same surface: this code runs on either

    class Passthrough(pyfuse3.Operations):
        def __init__(self) -> None:
            super().__init__()
            self.paths = {pyfuse3.ROOT_INODE: source}
            self.inode_of: dict[int, int] = {}

        def _attributes(self, path: str) -> pyfuse3.EntryAttributes:
            info = os.lstat(path)
            inode = self.inode_of.setdefault(info.st_ino, len(self.paths) + 1) if path != source else pyfuse3.ROOT_INODE
            self.paths[inode] = path
            attributes = pyfuse3.EntryAttributes()
            for name in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size", "st_atime_ns",
                         "st_mtime_ns", "st_ctime_ns"):
                setattr(attributes, name, getattr(info, name))
            attributes.st_ino = inode
            attributes.st_blksize, attributes.st_blocks = info.st_blksize, info.st_blocks
            return attributes

        async def lookup(self, parent_inode, name, ctx=None):
            try:
                return self._attributes(os.path.join(self.paths[parent_inode], os.fsdecode(name)))
            except OSError as error:
                raise pyfuse3.FUSEError(error.errno)

        async def getattr(self, inode, ctx=None):
            return self._attributes(self.paths[inode])

        async def setattr(self, inode, attr, fields, fh, ctx):
            if fields.update_size:
                os.truncate(self.paths[inode], attr.st_size)
            return self._attributes(self.paths[inode])

        async def opendir(self, inode, ctx):
            return inode

        async def readdir(self, fh, start_id, token):
            names = sorted(os.listdir(self.paths[fh]))
            for index, name in enumerate(names[start_id:], start_id):
                if not pyfuse3.readdir_reply(token, os.fsencode(name),
                                             self._attributes(os.path.join(self.paths[fh], name)), index + 1):
                    return

        async def open(self, inode, flags, ctx):
            return pyfuse3.FileInfo(fh=os.open(self.paths[inode], flags & ~os.O_CREAT))

        async def create(self, parent_inode, name, mode, flags, ctx):
            path = os.path.join(self.paths[parent_inode], os.fsdecode(name))
            fd = os.open(path, flags | os.O_CREAT | os.O_TRUNC, mode)
            return pyfuse3.FileInfo(fh=fd), self._attributes(path)

        async def read(self, fh, off, size):
            return os.pread(fh, size, off)

        async def write(self, fh, off, buf):
            return os.pwrite(fh, buf, off)

        async def flush(self, fh):
            return None

        async def fsync(self, fh, datasync):
            os.fsync(fh)

        async def release(self, fh):
            os.close(fh)

        async def unlink(self, parent_inode, name, ctx):
            os.unlink(os.path.join(self.paths[parent_inode], os.fsdecode(name)))

    pyfuse3.init(Passthrough(), mountpoint, {"fsname=passthrough", "default_permissions"})
    try:
        asyncio.run(pyfuse3.main())
    finally:
        pyfuse3.close(unmount=True)


# ---- measurement -----------------------------------------------------------------------------
def drop_caches() -> None:
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as file:
            file.write("3\n")
    except OSError:
        pass


def sequential_write(path: str, size_bytes: int, block: memoryview) -> float:
    started = time.perf_counter()
    with open(path, "wb", buffering=0) as file:
        written = 0
        while written < size_bytes:
            written += file.write(block[: min(len(block), size_bytes - written)])
        os.fsync(file.fileno())
    return size_bytes / (time.perf_counter() - started) / 1e6


def sequential_read(path: str, size_bytes: int, block: memoryview) -> float:
    drop_caches()
    started = time.perf_counter()
    total = 0
    with open(path, "rb", buffering=0) as file:
        while count := file.readinto(block):
            total += count
    elapsed = time.perf_counter() - started
    assert total == size_bytes, f"read {total} of {size_bytes} bytes from {path}"
    return size_bytes / elapsed / 1e6


def timed_cp(source: str, destination: str, size_bytes: int) -> float:
    """`cp` of a file (source read from disk: caches dropped first), then `sync` of the copy; MB/s."""
    drop_caches()
    started = time.perf_counter()
    subprocess.run(["cp", source, destination], check=True)
    subprocess.run(["sync", destination], check=True)
    return size_bytes / (time.perf_counter() - started) / 1e6


def wait_mounted(mountpoint: str, fstype: str, process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    from fs3.client.fuse.mount_control import is_mounted

    deadline = time.monotonic() + timeout_s
    while not is_mounted(mountpoint, fstype):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{fstype} did not mount on {mountpoint}")
        time.sleep(0.05)


def run(size_mib: int, rounds: int, replication: int, work_dir: str, passthrough_layer: str) -> dict:
    from fs3.client.fuse.mount_control import start_background, unmount
    from fs3.local.cluster import LocalCluster, LocalClusterSpec

    folder = Path(tempfile.mkdtemp(prefix="fs3-fuse-bench-", dir=work_dir))
    size_bytes = size_mib * MIB
    block = memoryview(bytearray(os.urandom(MIB)))
    cluster = LocalCluster(folder / "cluster", LocalClusterSpec(
        meta_services=1, storage_services=max(1, replication), targets_per_storage=4, replication_factor=replication))
    fs3_mount, pass_mount, pass_source = folder / "fs3", folder / "passthrough", folder / "passthrough-source"
    for path in (fs3_mount, pass_mount, pass_source):
        path.mkdir()
    passthrough = None
    results: dict[str, list[float]] = {key: [] for key in ("fs3_write", "fs3_read", "pass_write", "pass_read",
                                                           "cp_fs3", "cp_local")}
    try:
        cluster.up(timeout_s=90)
        os.environ["FS3_TOKEN_FILE"] = str(cluster.token_path)  # the daemon (a child) uses the cluster's token
        start_background(str(fs3_mount), [cluster.mgmtd_address], pid_file=folder / "fs3.pid")
        passthrough = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-passthrough",
                                        str(pass_source), str(pass_mount), passthrough_layer])
        wait_mounted(str(pass_mount), "fuse", passthrough)
        for round_index in range(rounds):
            for name, mountpoint in (("fs3", fs3_mount), ("pass", pass_mount)):
                path = str(mountpoint / f"seq-{round_index}.bin")
                results[f"{name}_write"].append(sequential_write(path, size_bytes, block))
                results[f"{name}_read"].append(sequential_read(path, size_bytes, block))
                os.unlink(path)
        # cp of one file into the mount against cp to a folder on the same local disk
        source = folder / "cp-source.bin"
        sequential_write(str(source), size_bytes, block)
        (folder / "cp-local").mkdir()
        for round_index in range(rounds):
            for name, destination in (("cp_fs3", fs3_mount / f"cp-{round_index}.bin"),
                                      ("cp_local", folder / "cp-local" / f"cp-{round_index}.bin")):
                results[name].append(timed_cp(str(source), str(destination), size_bytes))
                os.unlink(destination)
    finally:
        for mountpoint in (fs3_mount, pass_mount):
            subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True)
        if passthrough is not None:
            passthrough.wait(timeout=30)
        try:
            unmount(str(fs3_mount), pid_file=folder / "fs3.pid")
        except Exception:  # noqa: BLE001 - already unmounted above
            pass
        cluster.down()
        shutil.rmtree(folder, ignore_errors=True)
    return {key: max(values) for key, values in results.items()} | {"rounds": results}


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve-passthrough":
        serve_passthrough(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--replication", type=int, default=1)
    parser.add_argument("--work-dir", default=os.environ.get("FS3_BENCH_DIR", "/var/tmp"))
    parser.add_argument("--passthrough-layer", choices=("kernel", "pyfuse3"), default="kernel",
                        help="FUSE layer of the passthrough: ours (default) or pyfuse3, if installed")
    arguments = parser.parse_args()
    report = run(arguments.size_mib, arguments.rounds, arguments.replication, arguments.work_dir,
                 arguments.passthrough_layer)
    print(f"FUSE sequential 1 MiB, {arguments.size_mib} MiB file, replication {arguments.replication}, "
          f"best of {arguments.rounds} rounds")
    label = f"passthrough ({arguments.passthrough_layer})"
    print(f"  {label:<20} write {report['pass_write']:7.0f} MB/s   read {report['pass_read']:7.0f} MB/s")
    print(f"  fs3 FUSE mount       write {report['fs3_write']:7.0f} MB/s   read {report['fs3_read']:7.0f} MB/s")
    print(f"  ratio fs3/passthrough write {report['fs3_write'] / report['pass_write']:6.2f}x"
          f"      read {report['fs3_read'] / report['pass_read']:6.2f}x")
    print(f"  cp of the file       into fs3 {report['cp_fs3']:7.0f} MB/s   to the local disk "
          f"{report['cp_local']:7.0f} MB/s   ratio {report['cp_fs3'] / report['cp_local']:.2f}x")
    print("  every round (MB/s): " + ", ".join(f"{key} {[round(v) for v in values]}"
                                             for key, values in report["rounds"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
