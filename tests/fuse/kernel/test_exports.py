"""The kernel layer's public surface is deliberate, and covers what the daemon uses of pyfuse3.

Goal: `fs3.client.fuse.kernel` exports exactly the listed names, each from one
module, and every `pyfuse3.<name>` the FUSE daemon's modules (which import
this layer under pyfuse3's name) still use exists here: code merged from
other branches that reaches for another pyfuse3 name fails here, not on a mount.
"""

from __future__ import annotations

import re
from pathlib import Path

from fs3.client.fuse import kernel

ROOT = Path(__file__).resolve().parents[3]

PYFUSE3_SURFACE = {
    "ROOT_INODE", "ENOATTR", "FUSEError", "RequestContext", "SetattrFields", "EntryAttributes", "FileInfo",
    "StatvfsData", "Operations", "ReaddirToken", "readdir_reply", "default_options", "init", "main", "terminate",
    "close", "invalidate_inode", "invalidate_entry",
}
BEYOND_PYFUSE3 = {"FileLock", "F_RDLCK", "F_WRLCK", "F_UNLCK", "Session", "SessionLimits", "current_session"}


def test_exports_are_exactly_the_listed_names():
    assert set(kernel.__all__) == PYFUSE3_SURFACE | BEYOND_PYFUSE3
    assert len(kernel.__all__) == len(set(kernel.__all__))
    for name in kernel.__all__:
        assert getattr(kernel, name) is not None, name


def test_every_pyfuse3_name_the_daemon_uses_exists():
    used = set()
    for path in (ROOT / "client" / "fuse").glob("*.py"):
        used |= set(re.findall(r"\bpyfuse3\.(\w+)", path.read_text()))
    assert used, "the daemon's modules no longer use the pyfuse3 name: drop this test"
    assert used <= set(kernel.__all__), used - set(kernel.__all__)


def test_operations_defaults_answer_enosys_like_pyfuse3():
    import asyncio
    import errno

    operations = kernel.Operations()
    try:
        asyncio.run(operations.getattr(1, kernel.RequestContext()))
    except kernel.FUSEError as error:
        assert error.errno == errno.ENOSYS and str(error) == "Function not implemented"
    assert asyncio.run(operations.forget([(2, 1)])) is None
    for optional in ("getlk", "setlk", "flock", "fallocate"):
        assert not hasattr(operations, optional)  # their absence is what keeps locks in the kernel
