"""The FUSE mount as POSIX tools see it, over a real cluster.

Goal: everything goes through the kernel (Python's open(), os calls, cp,
tar, diff) into the daemon and on to real metadata and storage services;
what the mount writes the native client reads and vice versa.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import signal
import subprocess
import time

import pytest

from fs3._proto import meta_pb2
from fs3.client import Fs3Client
from fs3.errors import Fs3Error
from fs3.net.methods import MetaMethod
from tests.conftest import run_async
from tests.fuse.conftest import mount_cluster, requires_fuse, unmount_cluster

pytestmark = requires_fuse

MiB = 1 << 20


def _sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(8 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def _run(*command, cwd=None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{command} failed ({result.returncode}): {result.stdout}\n{result.stderr}"
    return result


async def _with_client(mount, work):
    client = await Fs3Client.connect([mount.mgmtd_address])
    try:
        return await work(client)
    finally:
        await client.close()


def test_path_at_dot_names_the_parent_itself_and_an_empty_path_names_nothing(mount):
    """The daemon addresses a directory by PathAt(parent=<id>, path=b"."): the
    metadata core resolves it to that directory; b"" is ENOENT there."""
    os.mkdir(mount.path / "pathat")

    async def work(client):
        directory = await client.stat("/pathat")
        response = await client.meta.call(MetaMethod.STAT, meta_pb2.StatRequest(
            user=client.user, path=meta_pb2.PathAt(parent=directory.inode_id, path=b"."), follow_last_symlink=False))
        assert response.inode.inode_id == directory.inode_id
        with pytest.raises(Fs3Error) as caught:
            await client.meta.call(MetaMethod.STAT, meta_pb2.StatRequest(
                user=client.user, path=meta_pb2.PathAt(parent=directory.inode_id, path=b""),
                follow_last_symlink=False))
        assert caught.value.code == errno.ENOENT

    run_async(_with_client(mount, work))


def test_python_files_small_and_ten_mebibytes_are_byte_exact(mount):
    folder = mount.path / "pyfiles"
    folder.mkdir()
    (folder / "small.txt").write_text("hello fs3\n")
    assert (folder / "small.txt").read_text() == "hello fs3\n"
    data = os.urandom(10 * MiB + 12345)
    (folder / "ten.bin").write_bytes(data)
    assert os.stat(folder / "ten.bin").st_size == len(data)
    assert (folder / "ten.bin").read_bytes() == data


def test_unaligned_small_writes_seeks_appends_and_truncate_match_a_local_model(mount, tmp_path):
    """Small writes are coalesced; overwrites, a backward seek, appends and
    truncates must still give exactly what a local file gives."""
    mounted, local = mount.path / "model.bin", tmp_path / "model.bin"
    steps = [(0, os.urandom(3000)), (3000, os.urandom(1 * MiB + 7)), (100, os.urandom(50)),
             (2 * MiB - 10, os.urandom(20)), (5 * MiB, os.urandom(4096))]
    for path in (mounted, local):
        with open(path, "wb") as file:
            for offset, data in steps:
                file.seek(offset)
                file.write(data)
        with open(path, "ab") as file:
            file.write(b"tail" * 1000)
    assert mounted.read_bytes() == local.read_bytes()
    for path in (mounted, local):
        os.truncate(path, 1 * MiB + 5)
    assert mounted.read_bytes() == local.read_bytes()
    with open(mounted, "r+b") as file:  # read while writing through the same handle
        file.seek(10)
        file.write(b"X" * 10)
        file.flush()
        file.seek(0)
        assert file.read(30)[10:20] == b"X" * 10
    with open(mounted, "wb") as file:  # O_TRUNC on an existing file
        file.write(b"new")
    assert mounted.read_bytes() == b"new"


def test_mkdir_listdir_rmdir(mount):
    top = mount.path / "dirs"
    os.mkdir(top)
    for name in ("b", "a", "c"):
        os.mkdir(top / name)
    (top / "f").write_bytes(b"x")
    assert sorted(os.listdir(top)) == ["a", "b", "c", "f"]
    assert os.path.isdir(top / "a") and os.path.isfile(top / "f")
    os.rmdir(top / "b")
    assert sorted(os.listdir(top)) == ["a", "c", "f"]
    assert sorted(_run("ls", str(top)).stdout.split()) == ["a", "c", "f"]


def test_listing_spans_several_readdir_pages(mount):
    """More entries than one READDIR page (1024): none lost, none repeated."""
    count = 1100

    async def work(client):
        await client.mkdir("/many")

        async def create(index):
            async with await client.open(f"/many/f{index:05d}", "wb"):
                pass

        semaphore = asyncio.Semaphore(64)

        async def bounded(index):
            async with semaphore:
                await create(index)

        await asyncio.gather(*(bounded(index) for index in range(count)))

    run_async(_with_client(mount, work))
    names = os.listdir(mount.path / "many")
    assert len(names) == count and sorted(names) == [f"f{index:05d}" for index in range(count)]


def test_rename_files_and_directories_with_replace(mount):
    top = mount.path / "moves"
    (top / "sub").mkdir(parents=True)
    (top / "one").write_bytes(b"1")
    (top / "two").write_bytes(b"2")
    os.rename(top / "one", top / "sub" / "uno")
    assert (top / "sub" / "uno").read_bytes() == b"1" and not (top / "one").exists()
    os.replace(top / "two", top / "sub" / "uno")
    assert (top / "sub" / "uno").read_bytes() == b"2" and not (top / "two").exists()
    os.rename(top / "sub", top / "renamed")
    assert (top / "renamed" / "uno").read_bytes() == b"2"
    with open(top / "renamed" / "uno", "ab") as file:  # open by the remembered (new) name
        file.write(b"+")
    assert (top / "renamed" / "uno").read_bytes() == b"2+"


def test_unlink(mount):
    path = mount.path / "gone.txt"
    path.write_bytes(b"bye")
    os.unlink(path)
    assert not path.exists()
    assert "gone.txt" not in os.listdir(mount.path)


def test_errno_through_os_calls(mount):
    top = mount.path / "errors"
    top.mkdir()
    (top / "full").mkdir()
    (top / "full" / "f").write_bytes(b"x")
    (top / "file").write_bytes(b"x")
    cases = [
        (errno.ENOENT, lambda: open(top / "missing")),
        (errno.ENOENT, lambda: os.unlink(top / "missing")),
        (errno.ENOENT, lambda: os.rmdir(top / "missing")),
        (errno.ENOENT, lambda: os.rename(top / "missing", top / "other")),
        (errno.EEXIST, lambda: os.mkdir(top / "full")),
        (errno.EEXIST, lambda: os.open(top / "file", os.O_CREAT | os.O_EXCL | os.O_WRONLY)),
        (errno.ENOTEMPTY, lambda: os.rmdir(top / "full")),
        (errno.ENOTDIR, lambda: os.listdir(top / "file")),
        (errno.EISDIR, lambda: open(top / "full", "wb")),
    ]
    for expected, call in cases:
        with pytest.raises(OSError) as caught:
            call()
        assert caught.value.errno == expected, f"{call}: {caught.value}"


def test_cp_r_then_diff_r(mount, tmp_path):
    source = tmp_path / "tree"
    for depth in range(3):
        folder = source / "/".join(f"d{level}" for level in range(depth + 1))
        folder.mkdir(parents=True)
        for index in range(5):
            (folder / f"file{index}.bin").write_bytes(os.urandom(1000 * index + depth * 70000))
    _run("cp", "-r", str(source), str(mount.path / "copied"))
    _run("diff", "-r", str(source), str(mount.path / "copied"))


def test_tar_create_and_extract_on_the_mount(mount, tmp_path):
    source = tmp_path / "project"
    (source / "src").mkdir(parents=True)
    (source / "src" / "main.py").write_text("print('hi')\n" * 1000)
    (source / "data.bin").write_bytes(os.urandom(3 * MiB + 1))
    _run("cp", "-r", str(source), str(mount.path / "project"))
    _run("tar", "cf", str(mount.path / "project.tar"), "-C", str(mount.path), "project")
    (mount.path / "unpacked").mkdir()
    _run("tar", "xf", str(mount.path / "project.tar"), "-C", str(mount.path / "unpacked"))
    _run("diff", "-r", str(source), str(mount.path / "unpacked" / "project"))


def test_mount_writes_are_visible_to_the_native_client_and_back(mount):
    data = os.urandom(3 * MiB + 17)
    with open(mount.path / "from_mount.bin", "wb") as file:
        file.write(data)
    other = os.urandom(2 * MiB + 5)

    async def work(client):
        stat = await client.stat("/from_mount.bin")
        assert stat.length == len(data)
        async with await client.open("/from_mount.bin", "rb") as file:
            assert await file.read() == data
        async with await client.open("/from_native.bin", "wb") as file:
            await file.write(other)

    run_async(_with_client(mount, work))
    assert (mount.path / "from_native.bin").read_bytes() == other


def test_cp_of_64_mebibytes_into_the_mount_is_identical(mount, tmp_path):
    source = tmp_path / "big.bin"
    with open(source, "wb") as file:
        for _ in range(8):
            file.write(os.urandom(8 * MiB))
    _run("cp", str(source), str(mount.path / "big.bin"))
    assert os.stat(mount.path / "big.bin").st_size == 64 * MiB
    _run("cmp", str(source), str(mount.path / "big.bin"))
    assert _sha256_file(mount.path / "big.bin") == _sha256_file(source)


def test_statfs_reports_space(mount):
    info = os.statvfs(mount.path)
    assert info.f_blocks > 0 and info.f_namemax == 255


def test_sigterm_unmounts_cleanly(fuse_cluster, tmp_path):
    from fs3.client.fuse.mount_control import is_mounted

    second = mount_cluster(fuse_cluster, tmp_path)
    try:
        (second.path / "before-term.txt").write_bytes(b"kept")
        os.kill(second.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while is_mounted(str(second.path)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_mounted(str(second.path))
        assert not second.pid_file.exists() or time.monotonic() < deadline
    finally:
        if is_mounted(str(second.path)):
            unmount_cluster(second)


def test_fs3_mount_and_umount_commands(fuse_cluster, tmp_path):
    """The CLI daemonizes, waits for the live mount, and umount waits for the daemon to exit."""
    from fs3.client.fuse.mount_control import is_mounted
    from tests.fuse.conftest import force_unmount
    from tests.conftest import run_cli

    mountpoint, pid_file = tmp_path / "cli-mnt", tmp_path / "cli.pid"
    mountpoint.mkdir()
    try:
        run_cli(fuse_cluster, "mount", str(mountpoint), "--mgmtd", fuse_cluster.mgmtd_address,
                "--pid-file", str(pid_file))
        assert is_mounted(str(mountpoint))
        pid = int(pid_file.read_text())
        (mountpoint / "cli.txt").write_bytes(b"via cli")
        assert (mountpoint / "cli.txt").read_bytes() == b"via cli"
        failed = run_cli(fuse_cluster, "mount", str(mountpoint), "--mgmtd", fuse_cluster.mgmtd_address,
                         "--pid-file", str(pid_file), check=False)
        assert failed.returncode != 0 and "already" in failed.stderr
        run_cli(fuse_cluster, "umount", str(mountpoint), "--pid-file", str(pid_file))
        assert not is_mounted(str(mountpoint))
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    finally:
        if is_mounted(str(mountpoint)):
            force_unmount(mountpoint, pid_file)


def test_concurrent_reads_of_one_open_file(mount):
    """Several reads of one handle at once (as the kernel's readahead sends them)
    interleave sequential and random offsets; each returns its own bytes."""
    from concurrent.futures import ThreadPoolExecutor

    data = os.urandom(12 * MiB)
    path = mount.path / "concurrent.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        offsets = [index * 256 * 1024 for index in range(48)] + [7 * MiB + 3, 1234, 11 * MiB + 99] * 4

        def check(offset):
            assert os.pread(fd, 300 * 1024, offset) == data[offset : offset + 300 * 1024]

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(check, offsets))
    finally:
        os.close(fd)


def test_open_files_left_mid_read_do_not_starve_other_io(mount):
    """Readahead blocks stay in shared-memory slots until the reader passes them; forty files read
    a little and left open (more blocks than the client has slots) must not stop other reads and
    writes, and every file still reads right to its end."""
    data = os.urandom(6 * MiB)
    files = []
    try:
        for index in range(40):
            path = mount.path / f"idle-{index}.bin"
            path.write_bytes(data)
            file = open(path, "rb", buffering=0)
            files.append(file)
            assert file.read(MiB) == data[:MiB]
        (mount.path / "busy.bin").write_bytes(data * 2)
        assert (mount.path / "busy.bin").read_bytes() == data * 2
        for file in files:
            assert file.read() == data[MiB:]
    finally:
        for file in files:
            file.close()
    for index in range(40):
        os.unlink(mount.path / f"idle-{index}.bin")
    os.unlink(mount.path / "busy.bin")


def test_local_down_unmounts_and_local_up_mounts_again(tmp_path):
    """`fs3 local down` unmounts the cluster's mounts and `fs3 local up` brings them back at the same
    paths, with the files written before."""
    from fs3.client.fuse.mount_control import is_mounted, pid_file_for
    from tests.conftest import run_cli, running_cluster
    from tests.fuse.conftest import force_unmount

    mountpoint = tmp_path / "local-mnt"
    mountpoint.mkdir()
    with running_cluster(tmp_path / "cluster", meta_services=1, storage_services=1, targets_per_storage=1,
                         replication_factor=1) as cluster:
        try:
            run_cli(cluster, "mount", str(mountpoint), "--mgmtd", cluster.mgmtd_address, "--allow-other")
            (mountpoint / "kept.txt").write_bytes(b"before down")
            down = " ".join(run_cli(cluster, "local", "down").stdout.split())  # (rich wraps long lines)
            assert f"unmounted {mountpoint}" in down and not is_mounted(str(mountpoint))
            up = " ".join(run_cli(cluster, "local", "up").stdout.split())
            assert f"fs3 mounted on {mountpoint} again" in up and is_mounted(str(mountpoint))
            assert (mountpoint / "kept.txt").read_bytes() == b"before down"
            assert "--allow-other" in open(f"/proc/{int(pid_file_for(mountpoint).read_text())}/cmdline").read()
            again = run_cli(cluster, "local", "up")  # nothing left to restore
            assert "again" not in again.stdout
            (cluster.data_dir / "mounts-to-restore.json").write_text('{"not": "a list"}')
            damaged = run_cli(cluster, "local", "up")  # reported, dropped, and the cluster is up
            assert "ignoring" in damaged.stdout and not (cluster.data_dir / "mounts-to-restore.json").exists()
            run_cli(cluster, "umount", str(mountpoint))
        finally:
            if is_mounted(str(mountpoint)):
                force_unmount(mountpoint, pid_file_for(mountpoint))
            # `fs3 mount` keeps the daemon's pid file and log where users' mounts keep theirs
            pid_file_for(mountpoint).unlink(missing_ok=True)
            pid_file_for(mountpoint).with_suffix(".log").unlink(missing_ok=True)
