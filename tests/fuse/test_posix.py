"""POSIX beyond read/write on the FUSE mount: attributes, links, special files,
xattrs, and the tools that need all of them (cp -a, rsync -aHX, sqlite, git, mmap).

Everything goes through the kernel into the daemon and on to a real cluster.
"""

from __future__ import annotations

import errno
import mmap
import os
import socket
import sqlite3
import stat
import subprocess
import threading
import time

import pytest

from tests.fuse.conftest import requires_fuse

pytestmark = requires_fuse

MiB = 1 << 20
NOBODY = 65534


def _run(*command, cwd=None, user=None) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, user=user,
                            group=user, extra_groups=[] if user is not None else None)
    assert result.returncode == 0, f"{command} failed ({result.returncode}): {result.stdout}\n{result.stderr}"
    return result


def _errno_of(call, *args, **kwargs) -> int:
    with pytest.raises(OSError) as caught:
        call(*args, **kwargs)
    return caught.value.errno


_ERRNO_HELPER = (
    "import errno, os, stat, sys\n"
    "def code(call, *args):\n"
    "    try: call(*args)\n"
    "    except OSError as error: return error.errno\n"
    "    return 0\n"
)


def _as_nobody(script: str) -> list[str]:
    """Run a Python script as nobody (with `code(call, *args)` -> errno or 0); its printed words."""
    return _run("/usr/bin/python3", "-c", _ERRNO_HELPER + script, user=NOBODY).stdout.split()


def _let_others_reach(mount) -> None:
    """pytest's temporary folders are 0700: let other users search down to the mountpoint."""
    folder = mount.path.parent
    while str(folder).startswith("/tmp/") and len(folder.parts) > 2:
        os.chmod(folder, os.stat(folder).st_mode | 0o011)
        folder = folder.parent


# ---- attributes ------------------------------------------------------------------------
def test_chmod_chown_and_utime_show_in_stat(mount):
    path = mount.path / "attrs.txt"
    path.write_bytes(b"x")
    before = os.stat(path)
    time.sleep(0.01)
    os.chmod(path, 0o4751)
    after = os.stat(path)
    assert stat.S_IMODE(after.st_mode) == 0o4751 and stat.S_ISREG(after.st_mode)
    assert after.st_ctime_ns > before.st_ctime_ns
    os.chown(path, 1234, 5678)
    after = os.stat(path)
    assert (after.st_uid, after.st_gid) == (1234, 5678)
    assert stat.S_IMODE(after.st_mode) == 0o751  # chown of a file drops setuid (even for root)
    os.chown(path, -1, 42)
    assert (os.stat(path).st_uid, os.stat(path).st_gid) == (1234, 42)

    os.utime(path, ns=(1_000_000_123, 2_000_000_456))
    after = os.stat(path)
    assert (after.st_atime_ns, after.st_mtime_ns) == (1_000_000_123, 2_000_000_456)
    # UTIME_OMIT for one of the two: touch -m / -a
    _run("touch", "-m", "-d", "@3000", str(path))
    after = os.stat(path)
    assert (after.st_atime_ns, after.st_mtime_ns) == (1_000_000_123, 3000 * 10**9)
    _run("touch", "-a", "-d", "@4000", str(path))
    after = os.stat(path)
    assert (after.st_atime_ns, after.st_mtime_ns) == (4000 * 10**9, 3000 * 10**9)
    # UTIME_NOW
    now = time.time_ns()
    os.utime(path)
    after = os.stat(path)
    assert abs(after.st_mtime_ns - now) < 5 * 10**9 and abs(after.st_atime_ns - now) < 5 * 10**9

    directory = mount.path / "attrs-dir"
    directory.mkdir()
    os.chmod(directory, 0o1777)
    os.utime(directory, ns=(5, 6))
    after = os.stat(directory)
    assert stat.S_IMODE(after.st_mode) == 0o1777 and after.st_mtime_ns == 6


def test_truncate_trims_storage_so_extending_again_reads_zeros(mount):
    path = mount.path / "trim.bin"
    path.write_bytes(b"\xff" * (3 * MiB))
    os.truncate(path, 1000)
    os.truncate(path, 3 * MiB)
    data = path.read_bytes()
    assert data[:1000] == b"\xff" * 1000 and data[1000:] == bytes(3 * MiB - 1000)
    # O_TRUNC of an existing file then a sparse extension
    path.write_bytes(b"\xee" * (2 * MiB))
    with open(path, "r+b") as file:
        file.truncate(0)
        file.write(b"abc")
    with open(path, "wb") as file:  # open(O_TRUNC) of an existing file
        file.write(b"0123456789")
    os.truncate(path, 2 * MiB)
    data = path.read_bytes()
    assert data[:10] == b"0123456789" and data[10:] == bytes(2 * MiB - 10)


def test_files_are_created_as_the_calling_user_and_checked_as_that_user(mount):
    _let_others_reach(mount)
    shared = mount.path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    _run("sh", "-c", f"echo mine > {shared}/nobody.txt && mkdir {shared}/nobody-dir", user=NOBODY)
    assert os.stat(shared / "nobody.txt").st_uid == NOBODY and os.stat(shared / "nobody.txt").st_gid == NOBODY
    assert os.stat(shared / "nobody-dir").st_uid == NOBODY
    root_file = shared / "root.txt"
    root_file.write_text("root's")
    os.chmod(root_file, 0o644)
    script = (
        "import errno, os, sys\n"
        "def code(call, *args):\n"
        "    try: call(*args)\n"
        "    except OSError as error: return error.errno\n"
        "    return 0\n"
        f"path = {str(root_file)!r}\n"
        "print(code(lambda: open(path, 'a')), code(os.chmod, path, 0o777), code(os.unlink, path),"
        " code(os.utime, path, (1, 1)))\n"
    )
    result = _run("/usr/bin/python3", "-c", script, user=NOBODY)
    assert result.stdout.split() == [str(errno.EACCES), str(errno.EPERM), str(errno.EPERM), str(errno.EPERM)]
    # a writer who is not the owner may set both times to now (touch), not to explicit times
    os.chmod(root_file, 0o666)
    os.utime(root_file, ns=(7, 7))
    _run("touch", str(root_file), user=NOBODY)
    assert os.stat(root_file).st_mtime_ns > 10**18
    assert root_file.read_text() == "root's"


# ---- links and special files -------------------------------------------------------------
def test_symlink_and_readlink(mount):
    folder = mount.path / "links"
    folder.mkdir()
    (folder / "target.txt").write_text("pointed at")
    os.symlink("target.txt", folder / "relative")
    os.symlink(str(folder / "target.txt"), folder / "absolute")
    os.symlink("does/not/exist", folder / "dangling")
    assert os.readlink(folder / "relative") == "target.txt"
    assert os.readlink(folder / "dangling") == "does/not/exist"
    assert stat.S_ISLNK(os.lstat(folder / "relative").st_mode)
    assert os.lstat(folder / "relative").st_size == len("target.txt")
    assert (folder / "relative").read_text() == "pointed at"
    assert (folder / "absolute").read_text() == "pointed at"
    assert not (folder / "dangling").exists()
    assert _errno_of(os.symlink, "x", folder / "relative") == errno.EEXIST
    assert _errno_of(os.readlink, folder / "target.txt") == errno.EINVAL
    assert sorted(os.listdir(folder)) == ["absolute", "dangling", "relative", "target.txt"]
    os.rename(folder / "relative", folder / "moved")
    assert os.readlink(folder / "moved") == "target.txt"
    os.unlink(folder / "moved")
    assert (folder / "target.txt").read_text() == "pointed at"


def test_hard_links_share_data_and_count_links(mount):
    folder = mount.path / "hard"
    folder.mkdir()
    (folder / "a").write_bytes(b"one")
    os.link(folder / "a", folder / "b")
    os.link(folder / "b", folder / "c")
    assert os.stat(folder / "a").st_nlink == 3
    assert os.stat(folder / "a").st_ino == os.stat(folder / "c").st_ino
    with open(folder / "b", "ab") as file:
        file.write(b" two")
    assert (folder / "c").read_bytes() == b"one two"
    os.unlink(folder / "a")
    assert os.stat(folder / "b").st_nlink == 2
    os.rename(folder / "c", folder / "d")
    assert os.stat(folder / "d").st_nlink == 2
    os.unlink(folder / "b")
    assert os.stat(folder / "d").st_nlink == 1 and (folder / "d").read_bytes() == b"one two"
    assert _errno_of(os.link, folder / "d", folder / "d") == errno.EEXIST
    assert _errno_of(os.link, folder, folder / "dirlink") == errno.EPERM


def test_mkfifo_and_mknod_regular(mount):
    fifo = mount.path / "pipe"
    os.mkfifo(fifo, 0o640)
    info = os.stat(fifo)
    assert stat.S_ISFIFO(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o640
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    with open(fifo, "wb") as file:
        file.write(b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    os.mknod(mount.path / "plain", 0o600 | stat.S_IFREG)
    info = os.stat(mount.path / "plain")
    assert stat.S_ISREG(info.st_mode) and info.st_size == 0 and stat.S_IMODE(info.st_mode) == 0o600
    (mount.path / "plain").write_bytes(b"data")
    assert (mount.path / "plain").read_bytes() == b"data"


def test_device_and_socket_nodes_are_names_with_attributes(mount):
    """pjdfstest (mknod/*, chmod/00, rename/*, unlink/00 ... with block, char and socket files):
    device nodes keep their number, are never opened as devices (the mount is nodev: EACCES),
    only root makes them; a unix socket bound on the mount works within this kernel."""
    _let_others_reach(mount)
    folder = mount.path / "nodes"
    folder.mkdir(mode=0o777)
    os.chmod(folder, 0o777)
    os.mknod(folder / "char", 0o640 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(folder / "block", 0o600 | stat.S_IFBLK, os.makedev(7, 9))
    char, block = os.lstat(folder / "char"), os.lstat(folder / "block")
    assert stat.S_ISCHR(char.st_mode) and stat.S_IMODE(char.st_mode) == 0o640 and char.st_rdev == os.makedev(1, 3)
    assert stat.S_ISBLK(block.st_mode) and block.st_rdev == os.makedev(7, 9)
    assert _errno_of(open, folder / "char", "rb") == errno.EACCES
    before = os.lstat(folder / "char").st_ctime_ns
    time.sleep(0.01)
    os.chmod(folder / "char", 0o600)
    os.chown(folder / "char", NOBODY, NOBODY)
    after = os.lstat(folder / "char")
    assert (after.st_uid, stat.S_IMODE(after.st_mode)) == (NOBODY, 0o600) and after.st_ctime_ns > before
    os.rename(folder / "char", folder / "char2")
    assert os.lstat(folder / "char2").st_rdev == os.makedev(1, 3)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(folder / "sock"))
        server.listen(1)
        assert stat.S_ISSOCK(os.lstat(folder / "sock").st_mode)
        assert _errno_of(open, folder / "sock", "rb") == errno.ENXIO
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
            peer.connect(str(folder / "sock"))
            accepted, _address = server.accept()
            with accepted:
                peer.sendall(b"over the mount")
                assert accepted.recv(64) == b"over the mount"
    assert _as_nobody(f"folder = {str(folder)!r}\n"
                      "print(code(os.mknod, folder + '/c', 0o600 | stat.S_IFCHR, os.makedev(1, 3)),"
                      " code(os.mknod, folder + '/s', 0o600 | stat.S_IFSOCK))\n") == [str(errno.EPERM), "0"]
    assert sorted(os.listdir(folder)) == ["block", "char2", "s", "sock"]
    for name in ("block", "char2", "s", "sock"):
        os.unlink(folder / name)
    os.rmdir(folder)


def test_directory_link_count_is_two_plus_subdirectories(mount):
    """pjdfstest rename/24.t (and tools that use st_nlink of directories): mkdir, rmdir and
    rename of directories keep their parents' link counts."""
    top = mount.path / "nlink"
    (top / "a" / "x").mkdir(parents=True)
    (top / "b").mkdir()
    (top / "a" / "file").write_bytes(b"")
    assert [os.stat(top / name).st_nlink for name in ("", "a", "b", "a/x")] == [4, 3, 2, 2]
    os.rename(top / "a" / "x", top / "b" / "x")
    assert (os.stat(top / "a").st_nlink, os.stat(top / "b").st_nlink) == (2, 3)
    os.rename(top / "b", top / "a" / "b")
    assert (os.stat(top).st_nlink, os.stat(top / "a").st_nlink) == (3, 3)
    os.rmdir(top / "a" / "b" / "x")
    assert os.stat(top / "a" / "b").st_nlink == 2


def test_write_by_non_owner_clears_setuid_and_ftruncate_needs_only_the_descriptor(mount):
    """pjdfstest chmod/12.t: a write by someone else drops setuid/setgid (the kernel sends that
    as a chmod); ftruncate/00.t: ftruncate through a descriptor opened for writing works even
    when the file's mode (here 0, set at create) grants nothing."""
    _let_others_reach(mount)
    folder = mount.path / "setid"
    folder.mkdir()
    os.chmod(folder, 0o777)
    for mode in (0o4777, 0o2777, 0o6777):
        target = folder / f"f{mode:o}"
        target.write_bytes(b"")
        os.chmod(target, mode)
        assert _as_nobody(f"fd = os.open({str(target)!r}, os.O_RDWR)\n"
                          "os.write(fd, b'x')\n"
                          "print(oct(stat.S_IMODE(os.fstat(fd).st_mode)))\n") == ["0o777"]
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 and target.read_bytes() == b"x"
    assert _as_nobody(f"fd = os.open({str(folder / 'mode0')!r}, os.O_CREAT | os.O_RDWR, 0)\n"
                      "os.write(fd, b'12345')\n"
                      "print(code(os.ftruncate, fd, 2), os.fstat(fd).st_size, oct(os.fstat(fd).st_mode & 0o777))\n"
                      f"print(code(os.truncate, {str(folder / 'mode0')!r}, 1))\n") == ["0", "2", "0o0",
                                                                                       str(errno.EACCES)]
    assert (folder / "mode0").read_bytes() == b"12"


def test_directory_readable_but_not_searchable_lists(mount):
    """pjdfstest open/06.t: opening (and listing) a directory needs read permission on it,
    not search permission: mode 0o477 lets its owner list it, 0o277 does not."""
    _let_others_reach(mount)
    folder = mount.path / "listable"
    folder.mkdir()
    os.chmod(folder, 0o777)
    (folder / "inside").mkdir()
    (folder / "inside" / "entry").write_bytes(b"")
    os.chown(folder / "inside", NOBODY, NOBODY)
    inside = str(folder / "inside")
    os.chmod(inside, 0o477)
    assert _as_nobody(f"print(os.listdir({inside!r}))") == ["['entry']"]
    os.chmod(inside, 0o277)
    assert _as_nobody(f"print(code(os.listdir, {inside!r}))") == [str(errno.EACCES)]


def test_symlink_target_may_hold_a_component_longer_than_name_max(mount):
    """pjdfstest symlink/02.t: only the link's own name is limited to NAME_MAX; its target is
    any text within PATH_MAX (following it fails with ENAMETOOLONG)."""
    target = "n" * 256
    os.symlink(target, mount.path / "long-target")
    assert os.readlink(mount.path / "long-target") == target
    assert _errno_of(os.stat, mount.path / "long-target") == errno.ENAMETOOLONG
    assert _errno_of(os.symlink, "x", mount.path / ("n" * 256)) == errno.ENAMETOOLONG
    os.unlink(mount.path / "long-target")


def test_unlinked_open_files_stay_usable_until_closed(mount):
    """pjdfstest unlink/14.t: a file unlinked (or replaced by rename) while open is still
    there for its descriptors: fstat says nlink 0, reads and writes work, also through a
    read-only descriptor after the GC has had time to run (gc_interval_s is 1 s)."""
    folder = mount.path / "unlinked"
    folder.mkdir()
    path = folder / "f"
    with open(path, "w+b") as writer:
        writer.write(b"Hello, World!")
        os.unlink(path)
        assert os.fstat(writer.fileno()).st_nlink == 0
        writer.write(b" more")
        writer.flush()
        assert os.pread(writer.fileno(), 18, 0) == b"Hello, World! more"
    data = os.urandom(3 * MiB)
    (folder / "kept").write_bytes(data)
    (folder / "new").write_bytes(b"replacement")
    with open(folder / "kept", "rb") as reader, open(folder / "other", "wb") as unrelated:
        os.rename(folder / "new", folder / "kept")
        assert os.fstat(reader.fileno()).st_nlink == 0
        time.sleep(3)  # several GC passes
        assert reader.read() == data
        os.unlink(folder / "kept")
        os.unlink(folder / "other")
        assert os.fstat(unrelated.fileno()).st_nlink == 0
    assert os.listdir(folder) == []
    os.rmdir(folder)


# ---- extended attributes -----------------------------------------------------------------
def test_xattrs_with_flags_and_errnos(mount):
    path = mount.path / "xattrs.txt"
    path.write_text("x")
    assert os.listxattr(path) == []
    ctime = os.stat(path).st_ctime_ns
    time.sleep(0.01)
    os.setxattr(path, "user.color", b"blue")
    assert os.stat(path).st_ctime_ns > ctime
    os.setxattr(path, "user.empty", b"")
    os.setxattr(path, "trusted.root-only", b"\x00\x01")
    assert os.getxattr(path, "user.color") == b"blue"
    assert os.getxattr(path, "user.empty") == b""
    assert sorted(os.listxattr(path)) == ["trusted.root-only", "user.color", "user.empty"]
    assert _errno_of(os.setxattr, path, "user.color", b"red", os.XATTR_CREATE) == errno.EEXIST
    assert _errno_of(os.setxattr, path, "user.missing", b"v", os.XATTR_REPLACE) == errno.ENODATA
    os.setxattr(path, "user.color", b"red", os.XATTR_REPLACE)
    os.setxattr(path, "user.new", b"v", os.XATTR_CREATE)
    assert os.getxattr(path, "user.color") == b"red"
    assert _errno_of(os.getxattr, path, "user.missing") == errno.ENODATA
    assert _errno_of(os.removexattr, path, "user.missing") == errno.ENODATA
    os.removexattr(path, "user.color")
    assert _errno_of(os.getxattr, path, "user.color") == errno.ENODATA
    big = os.urandom(64 * 1024)
    os.setxattr(path, "user.big", big)
    assert os.getxattr(path, "user.big") == big
    assert _errno_of(os.setxattr, path, "user.too-big", big + b"x") == errno.E2BIG
    assert _errno_of(os.setxattr, path, "system.nope", b"v") == errno.EOPNOTSUPP
    os.mkdir(mount.path / "xattr-dir")
    os.setxattr(mount.path / "xattr-dir", "user.on-dir", b"d")
    assert os.listxattr(mount.path / "xattr-dir") == ["user.on-dir"]
    os.symlink("xattrs.txt", mount.path / "xattr-link")
    assert os.getxattr(mount.path / "xattr-link", "user.new") == b"v"  # followed
    assert _errno_of(os.setxattr, mount.path / "xattr-link", "user.x", b"v", follow_symlinks=False) == errno.EPERM


# ---- whole trees ---------------------------------------------------------------------------
def _make_tree(root) -> None:
    os.makedirs(root / "sub" / "deeper")
    (root / "file.txt").write_text("hello\n")
    (root / "sub" / "data.bin").write_bytes(os.urandom(3 * MiB + 17))
    (root / "sub" / "deeper" / "empty").write_bytes(b"")
    os.chmod(root / "sub" / "deeper" / "empty", 0o600)
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o755)
    os.symlink("file.txt", root / "link-to-file")
    os.symlink("sub/deeper", root / "link-to-dir")
    os.symlink("nowhere", root / "dangling")
    os.link(root / "file.txt", root / "sub" / "hardlink.txt")
    os.setxattr(root / "file.txt", "user.origin", b"tree")
    os.setxattr(root / "sub", "user.kind", b"directory")
    os.setxattr(root / "sub" / "data.bin", "user.sum", os.urandom(32))
    os.utime(root / "script.sh", ns=(1_600_000_000_123_456_789, 1_600_000_001_987_654_321))
    os.chown(root / "sub" / "data.bin", 1001, 1002)
    # directory times in the past: rsync fixes a directory's times at the end only if they differ
    # in whole seconds from the source's (its touch_up_dirs), on any file system, so a source made
    # within the last second would leave the copies' directory times at "now"
    for offset, directory in enumerate((root / "sub" / "deeper", root / "sub", root)):
        os.utime(directory, ns=(1_500_000_000_000_000_000 + offset, 1_500_000_000_111_111_111 + offset))


def _describe(root) -> dict:
    """Everything cp -a / rsync -aHX keep, per relative path, with hard links as groups."""
    result = {}
    inode_groups: dict[int, str] = {}
    for folder, directories, files in os.walk(root):
        for name in directories + files:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            entry = {"mode": info.st_mode, "uid": info.st_uid, "gid": info.st_gid}
            if stat.S_ISLNK(info.st_mode):
                entry["target"] = os.readlink(path)
            else:
                entry["xattrs"] = {key: os.getxattr(path, key) for key in sorted(os.listxattr(path))}
                entry["mtime_ns"] = info.st_mtime_ns
            if stat.S_ISREG(info.st_mode):
                entry["nlink"] = info.st_nlink
                entry["link_group"] = inode_groups.setdefault(info.st_ino, relative)
            result[relative] = entry
    # a link group is named by whichever path os.walk met first: compare the partition only
    groups: dict[str, list[str]] = {}
    for relative, entry in result.items():
        if "link_group" in entry:
            groups.setdefault(entry.pop("link_group"), []).append(relative)
    result["<hard link groups>"] = sorted(sorted(group) for group in groups.values() if len(group) > 1)
    return result


def test_cp_a_and_rsync_aHX_keep_symlinks_hard_links_xattrs_modes_and_times(mount, tmp_path):
    source = mount.path / "tree"
    _make_tree(source)
    _run("cp", "-a", str(source), str(mount.path / "tree-cp"))
    _run("rsync", "-aHX", f"{source}/", f"{mount.path / 'tree-rsync'}/")
    expected = _describe(source)
    assert expected["<hard link groups>"] == [["file.txt", "sub/hardlink.txt"]]
    for copy in ("tree-cp", "tree-rsync"):
        _run("diff", "-r", "--no-dereference", str(source), str(mount.path / copy))
        copied = _describe(mount.path / copy)
        assert sorted(copied) == sorted(expected), copy
        for relative, entry in expected.items():
            assert copied[relative] == entry, (copy, relative)
    # and out to a local disk and back (xattrs kept only if the local file system has them)
    _run("cp", "-a", str(source), str(tmp_path / "local"))
    _run("rsync", "-aHX", f"{tmp_path / 'local'}/", f"{mount.path / 'tree-back'}/")
    _run("diff", "-r", "--no-dereference", str(source), str(mount.path / "tree-back"))


# ---- applications --------------------------------------------------------------------------
@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_sqlite_database_on_the_mount(mount, journal_mode):
    path = mount.path / f"db-{journal_mode}.sqlite"
    connection = sqlite3.connect(path)
    try:
        assert connection.execute(f"PRAGMA journal_mode={journal_mode}").fetchone()[0] == journal_mode
        connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, blob BLOB)")
        with connection:
            connection.executemany("INSERT INTO item (name, blob) VALUES (?, ?)",
                                   ((f"name-{index}", os.urandom(200)) for index in range(5000)))
        with connection:
            connection.execute("UPDATE item SET name = 'changed' WHERE id % 7 = 0")
            connection.execute("DELETE FROM item WHERE id % 11 = 0")
        connection.execute("CREATE INDEX item_name ON item (name)")
    finally:
        connection.close()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        expected = sum(1 for index in range(1, 5001) if index % 11)
        assert connection.execute("SELECT count(*) FROM item").fetchone()[0] == expected
        changed = sum(1 for index in range(1, 5001) if index % 11 and index % 7 == 0)
        assert connection.execute("SELECT count(*) FROM item WHERE name = 'changed'").fetchone()[0] == changed
    finally:
        connection.close()


def test_git_init_add_commit_and_clone_on_the_mount(mount):
    repository = mount.path / "repo"
    repository.mkdir()
    identity = ("-c", "user.name=fs3", "-c", "user.email=fs3@example.com")
    _run("git", "init", "-q", "-b", "main", cwd=repository)
    (repository / "README").write_text("fs3 on FUSE\n")
    (repository / "src").mkdir()
    (repository / "src" / "main.py").write_text("print('hi')\n")
    os.symlink("src/main.py", repository / "entry")
    _run("git", "add", "-A", cwd=repository)
    _run("git", *identity, "commit", "-q", "-m", "first", cwd=repository)
    (repository / "README").write_text("fs3 on FUSE, changed\n")
    _run("git", *identity, "commit", "-q", "-am", "second", cwd=repository)
    _run("git", "gc", "-q", cwd=repository)
    _run("git", "fsck", "--strict", cwd=repository)
    # a local clone on the same file system hard-links the objects
    _run("git", "clone", "-q", str(repository), str(mount.path / "clone"))
    clone = mount.path / "clone"
    assert _run("git", "log", "--format=%s", cwd=clone).stdout.split() == ["second", "first"]
    assert (clone / "README").read_text() == "fs3 on FUSE, changed\n"
    assert os.readlink(clone / "entry") == "src/main.py"
    assert _run("git", "status", "--porcelain", cwd=clone).stdout == ""
    _run("git", "fsck", "--strict", cwd=clone)


def test_mmap_reads_and_shared_writes(mount):
    path = mount.path / "mapped.bin"
    data = os.urandom(3 * MiB + 100)
    path.write_bytes(data)
    with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert len(mapped) == len(data)
        assert mapped[:4096] == data[:4096]
        assert mapped[2 * MiB - 10: 2 * MiB + 10] == data[2 * MiB - 10: 2 * MiB + 10]
        assert mapped[-100:] == data[-100:]
        assert mapped.find(data[MiB: MiB + 64]) == MiB
    with open(path, "r+b") as file, mmap.mmap(file.fileno(), 0) as mapped:
        mapped[10:20] = b"0123456789"
        mapped.flush()
    expected = data[:10] + b"0123456789" + data[20:]
    assert path.read_bytes() == expected
