"""Open /dev/fuse, mount it on a directory, and unmount it.

As root the mount(2) system call does it directly (source `fsname`, type
`fuse.<subtype>`, data `fd=N,rootmode=...,user_id=...,group_id=...` plus the
kernel options); otherwise `fusermount3` (setuid root) mounts and passes the
opened /dev/fuse back over a socketpair named in `_FUSE_COMMFD`. Unmounting
closes the connection first (so a synchronous unmount cannot wait on this
very process) and then detaches lazily, as libfuse does; it only unmounts
the mount it made (same device number at the same place in mountinfo).
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import logging
import os
import shutil
import socket
import stat
import subprocess
from typing import Iterable

__all__ = ["MountSpec", "Mount", "parse_options", "mount", "unmount", "mounted_device"]

logger = logging.getLogger(__name__)

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_NOATIME = 1024
MNT_DETACH = 2
_FLAG_OPTIONS = {  # option -> (flag set, flag cleared)
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY), "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID),
    "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV), "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC),
    "noatime": (MS_NOATIME, 0), "atime": (0, MS_NOATIME),
}
_KERNEL_SWITCHES = ("default_permissions", "allow_other")
_FUSERMOUNT = "fusermount3"
_FUSERMOUNT_TIMEOUT_S = 30

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


@dataclasses.dataclass(frozen=True, slots=True)
class MountSpec:
    """What to mount: the parsed libfuse-style options (`fsname=`, `subtype=`, `default_permissions`,
    `allow_other`, `max_read=`, `debug`, and ro/rw/nosuid/suid/nodev/dev/noexec/exec/noatime/atime)."""

    fsname: str | None = None
    subtype: str | None = None
    default_permissions: bool = False
    allow_other: bool = False
    max_read: int | None = None
    flags: int = MS_NOSUID | MS_NODEV  # libfuse's defaults
    debug: bool = False

    @property
    def fstype(self) -> str:
        return f"fuse.{self.subtype}" if self.subtype else "fuse"

    @property
    def source(self) -> str:
        return self.fsname or self.subtype or "/dev/fuse"

    def kernel_options(self) -> list[str]:
        options = [name for name in _KERNEL_SWITCHES if getattr(self, name)]
        if self.max_read is not None:
            options.append(f"max_read={self.max_read}")
        return options

    def fusermount_options(self) -> str:
        options = [name for name, (set_flag, _) in _FLAG_OPTIONS.items() if set_flag and self.flags & set_flag]
        if self.fsname:
            options.append(f"fsname={self.fsname}")
        if self.subtype:
            options.append(f"subtype={self.subtype}")
        return ",".join(options + self.kernel_options())


def parse_options(options: Iterable[str], *, max_read: int | None = None) -> MountSpec:
    """A MountSpec from libfuse-style options; `max_read` applies unless the options name one.

    Raises:
        ValueError: an option this layer does not know.
    """
    values: dict = {"max_read": max_read}
    flags = MS_NOSUID | MS_NODEV
    for option in options:
        name, _, value = option.partition("=")
        if name in ("fsname", "subtype"):
            values[name] = value
        elif name == "max_read":
            values["max_read"] = int(value)
        elif name in _KERNEL_SWITCHES or name == "debug":
            values[name] = True
        elif name in _FLAG_OPTIONS:
            set_flag, cleared = _FLAG_OPTIONS[name]
            flags = (flags | set_flag) & ~cleared
        else:
            raise ValueError(f"unknown FUSE mount option {option!r}")
    return MountSpec(flags=flags, **values)


@dataclasses.dataclass(slots=True)
class Mount:
    """A live mount: the connection's fd and where the kernel shows it."""

    fd: int
    mountpoint: str
    spec: MountSpec
    device: str | None  # "major:minor" of the mount in /proc/self/mountinfo
    by_fusermount: bool


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounted_device(mountpoint: str, fstype: str) -> str | None:
    """The "major:minor" of the newest `fstype` mount on `mountpoint`, per /proc/self/mountinfo."""
    found = None
    with open("/proc/self/mountinfo") as file:
        for line in file:
            before, _, after = line.partition(" - ")
            fields = before.split()
            if len(fields) > 4 and _unescape(fields[4]) == mountpoint and after.split()[:1] == [fstype]:
                found = fields[2]
    return found


def _is_our_mount(mount: Mount) -> bool:
    return mount.device is not None and mounted_device(mount.mountpoint, mount.spec.fstype) == mount.device


def mount(mountpoint: str, spec: MountSpec, *, use_fusermount: bool | None = None) -> Mount:
    """Mount a new FUSE connection on `mountpoint` (a directory).

    Args:
        use_fusermount: None picks mount(2) as root and fusermount3 otherwise.

    Raises:
        OSError: the mount failed (the message says how).
    """
    mountpoint = os.path.abspath(mountpoint)
    info = os.stat(mountpoint)
    if use_fusermount is None:
        use_fusermount = os.geteuid() != 0
    if use_fusermount:
        fd = _mount_by_fusermount(mountpoint, spec)
    else:
        fd = _mount_by_syscall(mountpoint, spec, stat.S_IFMT(info.st_mode))
    device = mounted_device(mountpoint, spec.fstype)
    logger.debug("mounted %s on %s (device %s, fd %d)", spec.fstype, mountpoint, device, fd)
    return Mount(fd, mountpoint, spec, device, use_fusermount)


def _mount_by_syscall(mountpoint: str, spec: MountSpec, root_type: int) -> int:
    fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    try:
        data = ",".join([f"fd={fd}", f"rootmode={root_type:o}", f"user_id={os.getuid()}", f"group_id={os.getgid()}",
                         *spec.kernel_options()])
        if _libc.mount(spec.source.encode(), mountpoint.encode(), spec.fstype.encode(), spec.flags,
                       data.encode()) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"mount({spec.fstype} on {mountpoint}, {data}): {os.strerror(code)}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _mount_by_fusermount(mountpoint: str, spec: MountSpec) -> int:
    program = shutil.which(_FUSERMOUNT)
    if program is None:
        raise OSError(errno.ENOENT, f"{_FUSERMOUNT} is not installed (package fuse3)")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        try:
            process = subprocess.Popen([program, "-o", spec.fusermount_options(), "--", mountpoint],
                                       env={**os.environ, "_FUSE_COMMFD": str(theirs.fileno())},
                                       pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finally:
            theirs.close()  # else the recv below never sees the end if fusermount fails
        try:
            ours.settimeout(_FUSERMOUNT_TIMEOUT_S)
            _, fds, _, _ = socket.recv_fds(ours, 1, 1)
        finally:
            _, error_output = process.communicate(timeout=_FUSERMOUNT_TIMEOUT_S)
    if not fds:
        raise OSError(errno.EIO, f"{_FUSERMOUNT} did not mount {mountpoint} (exit {process.returncode}): "
                                 f"{error_output.decode(errors='replace').strip()}")
    for extra in fds[1:]:
        os.close(extra)
    os.set_inheritable(fds[0], False)
    return fds[0]


def unmount(mount: Mount) -> bool:
    """Close the connection and detach the mount (lazily) if it is still ours; whether it had to.

    The connection is closed first: the kernel then fails requests with ENOTCONN
    instead of waiting for this process.
    """
    os.close(mount.fd)
    if not _is_our_mount(mount):  # unmounted already (fusermount3 -u, umount)
        return False
    if mount.by_fusermount:
        result = subprocess.run([shutil.which(_FUSERMOUNT) or _FUSERMOUNT, "-u", "-q", "-z", "--", mount.mountpoint],
                                capture_output=True, text=True, timeout=_FUSERMOUNT_TIMEOUT_S)
        if result.returncode != 0:
            raise OSError(errno.EIO, f"{_FUSERMOUNT} -u {mount.mountpoint}: {result.stderr.strip()}")
    elif _libc.umount2(mount.mountpoint.encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code != errno.EINVAL:  # EINVAL: not a mount point any more
            raise OSError(code, f"umount2({mount.mountpoint}): {os.strerror(code)}")
    logger.debug("unmounted %s", mount.mountpoint)
    return True
