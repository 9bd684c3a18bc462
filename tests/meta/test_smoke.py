"""Goal: the basic flow works end to end on the memory KV (mkdir, create, stat, readdir, close)."""

import errno

from fs3.meta import InodeType
from fs3.meta.flags import O_CREAT, O_WRONLY

from tests.meta.helpers import ROOT, async_test, expect_errno, new_operator, path


@async_test
async def test_create_stat_readdir() -> None:
    operator = await new_operator()
    directory = await operator.mkdir(ROOT, path("/d"), 0o755)
    assert directory.inode_type == InodeType.DIRECTORY
    opened = await operator.create(ROOT, path("/d/f"), 0o644, O_CREAT | O_WRONLY, client_id=7)
    assert opened.session_id > 0
    assert opened.inode.layout is not None
    closed = await operator.close(ROOT, opened.inode.inode_id, 7, opened.session_id, wrote=True, length_hint=100)
    assert closed is not None and closed.length == 100
    stat = await operator.stat(ROOT, path("/d/f"))
    assert stat.length == 100
    listing = await operator.readdir(ROOT, path("/d"))
    assert [e.name for e in listing.entries] == [b"f"]
    await expect_errno(errno.ENOENT, operator.stat(ROOT, path("/d/g")))
