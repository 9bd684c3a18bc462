"""The wire layouts and constants against linux/fuse.h, and the reply encodings.

Goal: every struct we pack or unpack has the size and field offsets of the C
struct, every opcode and flag its header value, and replies carry exactly
what libfuse put there for pyfuse3. Method: compile a small C program
against the installed <linux/fuse.h> (skipped without a compiler or header),
compare constants parsed from the header, and round-trip values.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from fs3.client.fuse.kernel import EntryAttributes, FileInfo, FileLock, StatvfsData, encoding, protocol
from fs3.client.fuse.kernel.protocol import InitFlag, Opcode

HEADER = Path("/usr/include/linux/fuse.h")

# our layout -> the C struct it mirrors
C_STRUCTS = {
    "IN_HEADER": "fuse_in_header", "OUT_HEADER": "fuse_out_header", "ATTR": "fuse_attr",
    "ENTRY_OUT": "fuse_entry_out", "ATTR_OUT": "fuse_attr_out", "KSTATFS": "fuse_kstatfs",
    "FILE_LOCK": "fuse_file_lock", "FORGET_IN": "fuse_forget_in", "FORGET_ONE": "fuse_forget_one",
    "BATCH_FORGET_IN": "fuse_batch_forget_in", "GETATTR_IN": "fuse_getattr_in", "SETATTR_IN": "fuse_setattr_in",
    "MKNOD_IN": "fuse_mknod_in", "MKDIR_IN": "fuse_mkdir_in", "RENAME_IN": "fuse_rename_in",
    "RENAME2_IN": "fuse_rename2_in", "LINK_IN": "fuse_link_in", "OPEN_IN": "fuse_open_in",
    "CREATE_IN": "fuse_create_in", "OPEN_OUT": "fuse_open_out", "RELEASE_IN": "fuse_release_in",
    "FLUSH_IN": "fuse_flush_in", "READ_IN": "fuse_read_in", "WRITE_IN": "fuse_write_in",
    "WRITE_OUT": "fuse_write_out", "FSYNC_IN": "fuse_fsync_in", "GETXATTR_IN": "fuse_getxattr_in",
    "GETXATTR_OUT": "fuse_getxattr_out", "LK_IN": "fuse_lk_in", "ACCESS_IN": "fuse_access_in",
    "INIT_OUT": "fuse_init_out", "INTERRUPT_IN": "fuse_interrupt_in", "FALLOCATE_IN": "fuse_fallocate_in",
    "DIRENT": "fuse_dirent", "NOTIFY_INVAL_INODE_OUT": "fuse_notify_inval_inode_out",
    "NOTIFY_INVAL_ENTRY_OUT": "fuse_notify_inval_entry_out", "NOTIFY_DELETE_OUT": "fuse_notify_delete_out",
}
# fields whose offsets must match (a wrong field order keeps the size but breaks these)
C_OFFSETS = [
    ("IN_HEADER", "fuse_in_header", "pid", 32), ("ENTRY_OUT", "fuse_entry_out", "attr", 40),
    ("ATTR_OUT", "fuse_attr_out", "attr", 16), ("ATTR", "fuse_attr", "atimensec", 48),
    ("ATTR", "fuse_attr", "blksize", 80), ("SETATTR_IN", "fuse_setattr_in", "atimensec", 56),
    ("SETATTR_IN", "fuse_setattr_in", "uid", 76), ("LK_IN", "fuse_lk_in", "lk_flags", 40),
    ("INIT_OUT", "fuse_init_out", "max_write", 20), ("INIT_OUT", "fuse_init_out", "max_pages", 28),
    ("KSTATFS", "fuse_kstatfs", "frsize", 48), ("READ_IN", "fuse_read_in", "lock_owner", 24),
]


def _compile_and_run(tmp_path, body: str) -> str:
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not HEADER.exists():
        pytest.skip("no C compiler or no <linux/fuse.h>")
    source = tmp_path / "sizes.c"
    source.write_text("#include <stdio.h>\n#include <stddef.h>\n#include <linux/fuse.h>\nint main(void) {\n"
                      + body + "return 0;\n}\n")
    program = tmp_path / "sizes"
    subprocess.run([compiler, "-o", str(program), str(source)], check=True, capture_output=True, timeout=60)
    return subprocess.run([str(program)], check=True, capture_output=True, text=True, timeout=30).stdout


def test_struct_sizes_and_offsets_match_the_c_header(tmp_path):
    body = "".join(f'printf("{ours} %zu\\n", sizeof(struct {c}));\n' for ours, c in C_STRUCTS.items())
    body += "".join(f'printf("{ours}.{field} %zu\\n", offsetof(struct {c}, {field}));\n'
                    for ours, c, field, _ in C_OFFSETS)
    measured = dict(line.split() for line in _compile_and_run(tmp_path, body).splitlines())
    for ours in C_STRUCTS:
        assert getattr(protocol, ours).size == int(measured[ours]), ours
    for ours, _, field, offset in C_OFFSETS:
        assert int(measured[f"{ours}.{field}"]) == offset, (ours, field)
    # fuse_init_in grew to 64 bytes in 7.36; we read its first 16 and flags2 at 16
    sizes = _compile_and_run(tmp_path, 'printf("%zu %zu\\n", sizeof(struct fuse_init_in), '
                                       'offsetof(struct fuse_init_in, flags2));\n').split()
    assert (protocol.INIT_IN.size, protocol.INIT_IN.size) == (16, int(sizes[1])) and int(sizes[0]) == 64


def _header_text() -> str:
    if not HEADER.exists():
        pytest.skip("no <linux/fuse.h>")
    return HEADER.read_text()


def test_opcodes_and_flags_have_the_header_values():
    text = _header_text()
    opcodes = {name: int(value) for name, value in re.findall(r"\bFUSE_([A-Z0-9_]+)\s*=\s*(\d+)", text)}
    for opcode in Opcode:
        if opcode.name in opcodes:  # STATX (7.39) is newer than the installed header may be
            assert opcodes[opcode.name] == opcode.value, opcode.name
    assert len([opcode for opcode in Opcode if opcode.name in opcodes]) >= 45
    flags = {name: int(shift) for name, shift in re.findall(r"#define FUSE_([A-Z0-9_]+)\s+\(1U?L*L? << (\d+)\)", text)}
    assert len([flag for flag in InitFlag if flag.name in flags]) >= 32
    for flag in InitFlag:
        if flag.name in flags:
            assert 1 << flags[flag.name] == flag.value, flag.name
    for name in ("FATTR_MODE", "FATTR_FH", "FATTR_ATIME_NOW", "FATTR_CTIME", "FOPEN_DIRECT_IO", "FOPEN_KEEP_CACHE",
                 "FOPEN_NONSEEKABLE"):
        shift = re.search(rf"#define {name}\s+\(1 << (\d+)\)", text).group(1)
        assert getattr(protocol, name) == 1 << int(shift), name
    assert re.search(r"#define FUSE_RELEASE_FLOCK_UNLOCK\s+\(1 << 1\)", text)
    assert re.search(r"#define FUSE_LK_FLOCK\s+\(1 << 0\)", text)


def test_every_layout_round_trips():
    for name in C_STRUCTS | {"INIT_IN": None, "SETXATTR_IN": None}:
        layout = getattr(protocol, name)
        values = []
        for code in re.findall(r"(\d*)([A-Za-z])", layout.format.lstrip("=")):
            count = int(code[0] or 1)
            bits = {"Q": 62, "q": 62, "I": 31, "i": 30, "H": 15}[code[1]]
            values += [(len(values) * 7919 + 1) % (1 << bits) for _ in range(count)]
        packed = layout.pack(*values)
        assert len(packed) == layout.size and list(layout.unpack(packed)) == values, name


def test_timeouts_split_into_seconds_and_nanoseconds_and_clamp():
    assert encoding.timeout(1.0) == (1, 0)
    assert encoding.timeout(2.25) == (2, 250_000_000)
    assert encoding.timeout(0) == (0, 0) and encoding.timeout(-3) == (0, 0) and encoding.timeout(float("nan")) == (0, 0)
    assert encoding.timeout(1e30) == ((1 << 64) - 1, 999_999_999)


def test_entry_and_attr_replies_carry_every_field():
    attr = EntryAttributes(st_ino=77, generation=3, entry_timeout=1.5, attr_timeout=0, st_mode=stat.S_IFLNK | 0o777,
                           st_nlink=4, st_uid=1000, st_gid=100, st_rdev=(5 << 32) | 0x1234, st_size=12345,
                           st_blocks=25, st_blksize=1 << 20, st_atime_ns=1_000_000_001, st_mtime_ns=-1,
                           st_ctime_ns=3_000_000_000)
    fields = protocol.ENTRY_OUT.unpack(encoding.entry_out(attr))
    assert fields[:6] == (77, 3, 1, 0, 500_000_000, 0)
    (ino, size, blocks, atime, mtime, ctime, atime_ns, mtime_ns, ctime_ns, mode, nlink, uid, gid, rdev, blksize,
     flags) = fields[6:]
    assert (ino, size, blocks, mode, nlink, uid, gid, blksize, flags) == (77, 12345, 25, stat.S_IFLNK | 0o777, 4, 1000,
                                                                          100, 1 << 20, 0)
    assert rdev == 0x1234  # 32 bits on the wire, as libfuse truncated it
    assert (atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns) == (1, 1, -1, 999_999_999, 3, 0)
    attr_fields = protocol.ATTR_OUT.unpack(encoding.attr_out(attr))
    assert attr_fields[:3] == (0, 0, 0) and attr_fields[3:] == fields[6:]
    default = protocol.ENTRY_OUT.unpack(encoding.entry_out(EntryAttributes()))
    assert default[2:6] == (300, 300, 0, 0) and default[15] == stat.S_IFREG and default[16] == 1  # pyfuse3's defaults


def test_open_statfs_and_lock_replies():
    assert protocol.OPEN_OUT.unpack(encoding.open_out(FileInfo(fh=9))) == (9, protocol.FOPEN_KEEP_CACHE, 0)
    info = FileInfo(fh=10, direct_io=True, keep_cache=False, nonseekable=True)
    assert protocol.OPEN_OUT.unpack(encoding.open_out(info)) == (10, protocol.FOPEN_DIRECT_IO
                                                                 | protocol.FOPEN_NONSEEKABLE, 0)
    data = StatvfsData(f_bsize=1 << 20, f_frsize=4096, f_blocks=100, f_bfree=50, f_bavail=40, f_files=1000,
                       f_ffree=900, f_favail=800, f_namemax=255)
    assert protocol.KSTATFS.unpack(encoding.statfs_out(data))[:8] == (100, 50, 40, 1000, 900, 1 << 20, 255, 4096)
    lock = FileLock(start=5, end=(1 << 63) - 1, type=1, pid=42)
    assert protocol.FILE_LOCK.unpack(encoding.lock_out(lock)) == (5, (1 << 63) - 1, 1, 42)


def test_directory_records_are_padded_to_eight_bytes():
    attr = EntryAttributes(st_ino=5, st_mode=stat.S_IFDIR | 0o755)
    for length in range(1, 20):
        record = encoding.dirent(b"n" * length, attr, 9)
        assert len(record) % 8 == 0 and len(record) - (24 + length) < 8
        assert protocol.DIRENT.unpack_from(record) == (5, 9, length, stat.S_IFDIR >> 12)
        plus = encoding.direntplus(b"n" * length, attr, 9)
        assert plus[protocol.ENTRY_OUT.size:] == record and protocol.ENTRY_OUT.unpack_from(plus)[0] == 5
