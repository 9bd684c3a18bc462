"""A namespace or attribute change retried after a lost reply (same client id and request id) returns
the first call's result instead of EEXIST/ENOENT/ENODATA, runs only once, and its record expires with the pruner."""

from __future__ import annotations

import dataclasses
import errno

from fs3.kv.interface import prefix_range, run_transaction
from fs3.meta.components.session_pruner import SessionPruner
from fs3.meta.flags import XATTR_CREATE
from fs3.meta.store import keys
from tests.meta.helpers import CONFIG, ROOT, async_test, expect_errno, new_operator, path

CLIENT = 77


@async_test
async def test_each_change_retried_with_its_request_id_answers_like_the_first_call():
    operator = await new_operator()
    made = await operator.mkdir(ROOT, path("/d"), 0o755, client_id=CLIENT, request_id=b"mkdir-1")
    assert (await operator.mkdir(ROOT, path("/d"), 0o755, client_id=CLIENT, request_id=b"mkdir-1")) == made
    await expect_errno(errno.EEXIST, operator.mkdir(ROOT, path("/d"), 0o755, client_id=CLIENT, request_id=b"other"))

    await operator.create(ROOT, path("/d/f"), 0o644)
    linked = await operator.link(ROOT, path("/d/f"), path("/d/g"), client_id=CLIENT, request_id=b"link-1")
    again = await operator.link(ROOT, path("/d/f"), path("/d/g"), client_id=CLIENT, request_id=b"link-1")
    assert again.nlink == linked.nlink == 2, "the retry did not link a third time"
    symlink = await operator.symlink(ROOT, path("/s"), b"/d", client_id=CLIENT, request_id=b"symlink-1")
    assert (await operator.symlink(ROOT, path("/s"), b"/d", client_id=CLIENT, request_id=b"symlink-1")) == symlink

    moved = await operator.rename(ROOT, path("/d/g"), path("/d/h"), client_id=CLIENT, request_id=b"rename-1")
    assert (await operator.rename(ROOT, path("/d/g"), path("/d/h"), client_id=CLIENT,
                                  request_id=b"rename-1")).inode_id == moved.inode_id
    await operator.unlink(ROOT, path("/d/h"), client_id=CLIENT, request_id=b"unlink-1")
    await operator.unlink(ROOT, path("/d/h"), client_id=CLIENT, request_id=b"unlink-1")  # no ENOENT
    assert (await operator.stat(ROOT, path("/d/f"))).nlink == 1
    # extended attributes: a retried XATTR_CREATE is not EEXIST, a retried removal not ENODATA
    created = await operator.setxattr(ROOT, path("/d/f"), b"user.k", b"v", XATTR_CREATE, client_id=CLIENT,
                                      request_id=b"setxattr-1")
    assert (await operator.setxattr(ROOT, path("/d/f"), b"user.k", b"v", XATTR_CREATE, client_id=CLIENT,
                                    request_id=b"setxattr-1")) == created
    await expect_errno(errno.EEXIST, operator.setxattr(ROOT, path("/d/f"), b"user.k", b"w", XATTR_CREATE,
                                                       client_id=CLIENT, request_id=b"setxattr-2"))
    await operator.removexattr(ROOT, path("/d/f"), b"user.k", client_id=CLIENT, request_id=b"removexattr-1")
    await operator.removexattr(ROOT, path("/d/f"), b"user.k", client_id=CLIENT, request_id=b"removexattr-1")
    await expect_errno(errno.ENODATA, operator.getxattr(ROOT, path("/d/f"), b"user.k"))
    await operator.unlink(ROOT, path("/d/f"))
    await operator.rmdir(ROOT, path("/d"), client_id=CLIENT, request_id=b"rmdir-1")
    await operator.rmdir(ROOT, path("/d"), client_id=CLIENT, request_id=b"rmdir-1")
    await expect_errno(errno.ENOENT, operator.rmdir(ROOT, path("/d"), client_id=CLIENT, request_id=b"rmdir-2"))
    # a request id needs a client id; without a request id nothing is recorded
    await expect_errno(errno.EINVAL, operator.mkdir(ROOT, path("/x"), 0o755, request_id=b"orphan"))
    await expect_errno(errno.EINVAL, operator.mkdir(ROOT, path("/x"), 0o755, client_id=CLIENT, request_id=b"r" * 65))


@async_test
async def test_records_expire_after_their_retention():
    config = dataclasses.replace(CONFIG, idempotence_retention_s=60.0, session_prune_batch_size=2)
    operator = await new_operator(config=config)
    for index in range(3):
        await operator.mkdir(ROOT, path(f"/d{index}"), 0o755, client_id=CLIENT, request_id=b"m%d" % index)
    await operator.create(ROOT, path("/f"), 0o644, client_id=CLIENT, request_id=b"create-1")

    async def records() -> int:
        async def count(txn):
            return sum([len(await txn.get_range(*prefix_range(prefix)))
                        for prefix in (keys.IDEMPOTENCE_PREFIX, keys.OP_RECORD_PREFIX)])
        return await run_transaction(operator.test_engine, count)

    pruner = SessionPruner(operator.test_engine, config, clock=operator.test_clock)
    await pruner.run_once()
    assert await records() == 4
    operator.test_clock.advance(61 * 1_000_000_000)
    await pruner.run_once()
    assert await records() == 0 and pruner.expired_records == 4
