"""Start a FUSE daemon in the background, wait for its mount, unmount it.

Used by `fs3 mount` / `fs3 umount` and by tests. The daemon writes its pid
to a pid file (removed when it exits); its log goes next to it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from fs3.errors import Fs3Error, StatusCode

__all__ = ["daemon_arguments", "is_mounted", "mounts_of_cluster", "pid_file_for", "start_background", "unmount",
           "wait_until_mounted"]


def _unescape_mountinfo(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def is_mounted(mountpoint: str | os.PathLike, fstype: str = "fuse.fs3") -> bool:
    """Whether an fs3 FUSE mount sits on `mountpoint` (per /proc/self/mountinfo)."""
    target = os.path.abspath(mountpoint)
    with open("/proc/self/mountinfo") as file:
        for line in file:
            before, _, after = line.partition(" - ")
            fields = before.split()
            if len(fields) > 4 and _unescape_mountinfo(fields[4]) == target and after.split()[0] == fstype:
                return True
    return False


def mounts_of_cluster(mgmtd_addresses: list[str], fstype: str = "fuse.fs3") -> list[str]:
    """Mountpoints whose daemon talks to one of these cluster managers."""
    found = []
    with open("/proc/self/mountinfo") as file:
        lines = file.readlines()
    for line in lines:
        before, _, after = line.partition(" - ")
        fields = before.split()
        if len(fields) <= 4 or not after or after.split()[0] != fstype:
            continue
        mountpoint = _unescape_mountinfo(fields[4])
        arguments = daemon_arguments(mountpoint)
        if arguments is None:
            continue
        addresses = arguments[arguments.index("--mgmtd") + 1].split(",") if "--mgmtd" in arguments[:-1] else []
        if any(address in addresses for address in mgmtd_addresses):
            found.append(mountpoint)
    return found


def daemon_arguments(mountpoint: str | os.PathLike) -> list[str] | None:
    """The command line of the daemon serving `mountpoint` (found by its default pid file), or None."""
    try:
        pid = int(pid_file_for(mountpoint).read_text().strip())
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().decode(errors="replace").split("\0")
    except (OSError, ValueError):
        return None


def pid_file_for(mountpoint: str | os.PathLike, state_dir: str | os.PathLike | None = None) -> Path:
    """Where the daemon serving `mountpoint` records its pid (~/.fs3/mounts/<name>-<hash>.pid)."""
    target = os.path.abspath(mountpoint)
    folder = Path(state_dir) if state_dir else Path.home() / ".fs3" / "mounts"
    digest = hashlib.sha256(target.encode()).hexdigest()[:12]
    return folder / f"{os.path.basename(target) or 'root'}-{digest}.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def start_background(mountpoint: str, mgmtd_addresses: list[str], *, pid_file: Path | None = None,
                     allow_other: bool = False, default_permissions: bool = True,
                     timeout_s: float = 30.0) -> int:
    """Start the daemon detached from this process; return its pid once the mount is live.

    Raises:
        Fs3Error: the daemon exited or the mount did not appear within `timeout_s`.
    """
    mountpoint = os.path.abspath(mountpoint)
    if not os.path.isdir(mountpoint):
        raise Fs3Error(errno.ENOTDIR, f"{mountpoint} is not a directory")
    if is_mounted(mountpoint):
        raise Fs3Error(errno.EBUSY, f"{mountpoint} is already an fs3 mount")
    pid_file = pid_file or pid_file_for(mountpoint)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = pid_file.with_suffix(".log")
    command = [sys.executable, "-m", "fs3.client.fuse", mountpoint, "--mgmtd", ",".join(mgmtd_addresses),
               "--pid-file", str(pid_file)]
    if allow_other:
        command.append("--allow-other")
    if not default_permissions:
        command.append("--no-default-permissions")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if is_mounted(mountpoint):
            return process.pid
        if process.poll() is not None:
            raise Fs3Error(StatusCode.UNAVAILABLE,
                           f"the FUSE daemon exited with {process.returncode}; log {log_path}:\n{_log_tail(log_path)}")
        time.sleep(0.05)
    process.terminate()
    raise Fs3Error(StatusCode.TIMEOUT, f"no mount on {mountpoint} after {timeout_s:.0f}s; log {log_path}")


def unmount(mountpoint: str, *, pid_file: Path | None = None, lazy: bool = False, timeout_s: float = 30.0) -> None:
    """Unmount `mountpoint` (fusermount3 -u, else umount) and wait until its daemon exited.

    Raises:
        Fs3Error: EINVAL if nothing is mounted there, EBUSY if the mount is in use
            (pass lazy=True to detach it anyway), TIMEOUT if the daemon lingers.
    """
    mountpoint = os.path.abspath(mountpoint)
    pid_file = pid_file or pid_file_for(mountpoint)
    pid = None
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        pass
    if is_mounted(mountpoint):
        if shutil.which("fusermount3"):
            command = ["fusermount3", "-u"] + (["-z"] if lazy else []) + [mountpoint]
        else:
            command = ["umount"] + (["-l"] if lazy else []) + [mountpoint]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            busy = "busy" in result.stderr.lower()
            raise Fs3Error(errno.EBUSY if busy else StatusCode.INTERNAL,
                           f"{' '.join(command)} failed: {result.stderr.strip()}")
    elif pid is None or not _pid_alive(pid):
        raise Fs3Error(errno.EINVAL, f"no fs3 mount on {mountpoint}")
    deadline = time.monotonic() + timeout_s
    while pid is not None and _pid_alive(pid):
        if time.monotonic() > deadline:
            raise Fs3Error(StatusCode.TIMEOUT, f"FUSE daemon {pid} still running {timeout_s:.0f}s after unmount")
        time.sleep(0.05)
