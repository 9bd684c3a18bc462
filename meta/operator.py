"""MetaOperator: the single entry point of metadata operations.

A call flows: validate the request -> build one op from `fs3.meta.ops`
-> `run_transaction` runs `op.run(txn)` and commits, retrying conflicts
under the configured deadline -> the op's dataclass result (or Fs3Error).
Ops decide only from what they read in their transaction, so re-running
one is safe. Ids that must stay stable across retries (write session ids)
are drawn here, before the transaction.
"""

from __future__ import annotations

import errno
import random
from typing import Awaitable, Callable, TypeVar

from fs3.errors import Fs3Error, StatusCode, fs_error
from fs3.kv.interface import KvEngine, RetryPolicy, Transaction, TransactionRetryLimit, run_transaction
from fs3.meta.clock import Clock, WallClock
from fs3.meta.components.inode_id_allocator import InodeIdAllocator
from fs3.meta.config import MetaConfig
from fs3.meta.flags import O_WRONLY
from fs3.meta.ops._common import OpContext
from fs3.meta.ops.close import CloseOp
from fs3.meta.ops.create import CreateOp
from fs3.meta.ops.link import LinkOp
from fs3.meta.ops.list_clients import ClientSessionInfo, ListClientsOp
from fs3.meta.ops.mkdir import MkdirOp
from fs3.meta.ops.open import OpenOp
from fs3.meta.ops.readdir import ReaddirOp
from fs3.meta.ops.readlink import ReadlinkOp
from fs3.meta.ops.rename import RenameOp
from fs3.meta.ops.rmdir import RmdirOp
from fs3.meta.ops.set_length import SetLengthOp
from fs3.meta.ops.stat import StatOp
from fs3.meta.ops.stat_inode import StatInodeOp
from fs3.meta.ops.symlink import SymlinkOp
from fs3.meta.ops.unlink import UnlinkOp
from fs3.meta.ops.setattr import SetattrOp
from fs3.meta.ops.mknod import MknodOp
from fs3.meta.ops.setxattr import SetxattrOp
from fs3.meta.ops.getxattr import GetxattrOp
from fs3.meta.ops.listxattr import ListxattrOp
from fs3.meta.ops.removexattr import RemovexattrOp
from fs3.meta.ops.statfs import StatfsOp
from fs3.meta.ops.set_layout import SetLayoutOp
from fs3.meta.ops.remove_tree_to_trash import RemoveTreeToTrashOp
from fs3.meta.ops.inspect_namespace import CheckInodesOp, DumpInodesOp, FsckOp, InodePage, InodeState, ListGcQueueOp
from fs3.meta.fsck import FsckReport
from fs3.meta.ops.file_lock import (
    GetFileLockOp, LockOutcome, LockRequest, ReleaseFileLocksOp, SetFileLockOp, StopLockWaitOp,
)
from fs3.meta.store.file_lock import OFFSET_MAX, FileLock, LockKind, LockType
from fs3.meta.flags import XATTR_CREATE, XATTR_REPLACE
from fs3.meta.store.client import touch_client
from fs3.meta.store.idempotence import OpRecord, load_op_record, store_op_record
from fs3.meta.store.names import check_path, check_symlink_target
from fs3.meta.store.xattr import check_xattr_name
from fs3.meta.types import (
    Capacity, Inode, Layout, OpenResult, TrashResult, PathAt, ReaddirResult, SetAttributes, SetattrResult, StatfsResult, StoredLength, UserInfo,
)

__all__ = ["MetaOperator"]

T = TypeVar("T")

_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1
_MODE_BITS = 0o7777
_REQUEST_ID_BYTES_MAX = 64
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1

Target = PathAt | int  # a path, or an inode id (a handle)


async def _no_capacity() -> Capacity:
    return Capacity(total_bytes=0, free_bytes=0)


class MetaOperator:
    """Runs metadata operations on a KV engine. Stateless apart from its
    inode-id batch: any number of operators may share one namespace.

    Args:
        engine: the KV engine holding the namespace (formatted with format_namespace).
        config: limits, deadline, id allocation.
        clock: time source for timestamps (default: wall clock).
        rng: randomness for session ids, allocator shards and retry jitter.
        capacity: reports the storage's total and free bytes for statfs
            (the service sums its routing info's targets); default: zero.
    """

    def __init__(
        self,
        engine: KvEngine,
        *,
        config: MetaConfig,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        capacity: Callable[[], Awaitable[Capacity]] | None = None,
    ) -> None:
        config.check()
        self._engine = engine
        self._config = config
        self._clock = clock or WallClock()
        self._rng = rng or random.Random()
        self._capacity = capacity or _no_capacity
        self._policy = RetryPolicy(retries_max=config.op_retries_max, deadline_s=config.op_deadline_s)
        self._allocator = InodeIdAllocator(
            engine,
            shards=config.inode_id_shards,
            batch_size=config.inode_id_batch_size,
            rng=self._rng,
            policy=self._policy,
        )

    async def stat(self, user: UserInfo, path_at: PathAt, follow_last_symlink: bool = True) -> Inode:
        self._check_path_at(path_at)
        return await self._run(StatOp(self._context(user), path_at, follow_last_symlink).run)

    async def stat_inode(self, user: UserInfo, inode_id: int) -> Inode:
        self._check_inode_id(inode_id)
        return await self._run(StatInodeOp(self._context(user), inode_id).run)

    async def mkdir(self, user: UserInfo, path_at: PathAt, mode: int, recursive: bool = False, *,
                    client_id: int = 0, request_id: bytes = b"") -> Inode:
        """client_id + request_id (here and on unlink, rmdir, rename, symlink, link): see `_run_once`."""
        self._check_path_at(path_at)
        self._check_mode(mode)
        ctx = self._context(user)
        return await self._run_once(ctx, client_id, request_id, MkdirOp(ctx, path_at, mode, recursive).run)

    async def create(
        self,
        user: UserInfo,
        path_at: PathAt,
        mode: int,
        flags: int = O_WRONLY,
        client_id: int = 0,
        request_id: bytes = b"",
    ) -> OpenResult:
        self._check_path_at(path_at)
        self._check_mode(mode)
        self._check_u32(flags, "flags")
        self._check_u64(client_id, "client_id")
        if len(request_id) > _REQUEST_ID_BYTES_MAX:
            raise fs_error(errno.EINVAL, f"request_id longer than {_REQUEST_ID_BYTES_MAX} bytes")
        op = CreateOp(self._context(user), path_at, mode, flags, client_id, request_id, self._new_session_id())
        return await self._run(op.run)

    async def open(self, user: UserInfo, path_at: PathAt, flags: int, client_id: int = 0) -> OpenResult:
        self._check_path_at(path_at)
        self._check_u32(flags, "flags")
        self._check_u64(client_id, "client_id")
        op = OpenOp(self._context(user), path_at, flags, client_id, self._new_session_id())
        return await self._run(op.run)

    async def close(
        self,
        user: UserInfo,
        inode_id: int,
        client_id: int,
        session_id: int,
        wrote: bool = False,
        length_hint: int = 0,
        stored: StoredLength | None = None,
    ) -> Inode | None:
        """stored: what storage held, seen at the inode's ctime; applied only if that ctime is current."""
        self._check_inode_id(inode_id)
        self._check_u64(client_id, "client_id")
        self._check_u64(session_id, "session_id")
        self._check_u64(length_hint, "length_hint")
        op = CloseOp(self._context(user), inode_id, client_id, session_id, wrote, length_hint, stored)
        return await self._run(op.run)

    async def client_heartbeat(self, client_id: int) -> None:
        """Mark `client_id` alive now (a blind write), keeping its write sessions from the pruner."""
        self._check_u64(client_id, "client_id")
        if client_id == 0:
            raise fs_error(errno.EINVAL, "client id 0 is anonymous and has no liveness")
        now_ns = self._clock.now_ns()

        async def body(txn: Transaction) -> None:
            touch_client(txn, client_id, now_ns)

        await self._run(body)

    async def list_clients(self, limit: int = 0) -> tuple[list[ClientSessionInfo], bool]:
        """Known clients and their write-session counts (admin only); `limit` 0: `client_list_max`."""
        self._check_u32(limit, "limit")
        limit = min(limit or self._config.client_list_max, self._config.client_list_max)
        return await self._run(ListClientsOp(limit, self._config.client_sessions_scan_max).run)

    async def set_length(self, user: UserInfo, inode_id: int, length: int, only_grow: bool = False,
                         stored: StoredLength | None = None) -> Inode:
        """stored (with only_grow, fsync): as for close."""
        self._check_inode_id(inode_id)
        self._check_u64(length, "length")
        assert stored is None or only_grow
        return await self._run(SetLengthOp(self._context(user), inode_id, length, only_grow, stored).run)

    async def readdir(
        self,
        user: UserInfo,
        target: Target,
        after_name: bytes = b"",
        limit: int = 0,
        with_inodes: bool = False,
    ) -> ReaddirResult:
        """One page of the directory at a path or with an inode id (a handle: no search permission)."""
        self._check_target(target)
        self._check_u32(limit, "limit")
        op = ReaddirOp(self._context(user), target, after_name, limit, with_inodes)
        return await self._run(op.run)

    async def unlink(self, user: UserInfo, path_at: PathAt, *, client_id: int = 0, request_id: bytes = b"") -> None:
        self._check_path_at(path_at)
        ctx = self._context(user)
        await self._run_once(ctx, client_id, request_id, UnlinkOp(ctx, path_at).run)

    async def rmdir(self, user: UserInfo, path_at: PathAt, *, client_id: int = 0, request_id: bytes = b"") -> None:
        self._check_path_at(path_at)
        ctx = self._context(user)
        await self._run_once(ctx, client_id, request_id, RmdirOp(ctx, path_at).run)

    async def rename(self, user: UserInfo, src: PathAt, dst: PathAt, flags: int = 0, *, client_id: int = 0,
                     request_id: bytes = b"") -> Inode:
        self._check_path_at(src)
        self._check_path_at(dst)
        self._check_u32(flags, "flags")
        ctx = self._context(user)
        return await self._run_once(ctx, client_id, request_id, RenameOp(ctx, src, dst, flags).run)

    async def remove_tree_to_trash(self, user: UserInfo, path_at: PathAt, expire_s: float) -> TrashResult:
        """Move the tree at `path_at` to /trash/<uid>/<name>-<time>, deleted by the
        trash cleaner `expire_s` seconds from now (EINVAL outside
        [trash_expiry_min_s, trash_expiry_max_s], 1 h .. 7 d by default)."""
        self._check_path_at(path_at)
        config = self._config
        if not config.trash_expiry_min_s <= expire_s <= config.trash_expiry_max_s:
            raise fs_error(errno.EINVAL, f"trash expiry {expire_s}s not in "
                                         f"[{config.trash_expiry_min_s}, {config.trash_expiry_max_s}]")
        ctx = self._context(user)
        op = RemoveTreeToTrashOp(ctx, path_at, ctx.now_ns + int(expire_s * 1e9))
        return await self._run(op.run)

    async def symlink(self, user: UserInfo, path_at: PathAt, target: bytes, *, client_id: int = 0,
                      request_id: bytes = b"") -> Inode:
        self._check_path_at(path_at)
        check_symlink_target(target, self._config)
        ctx = self._context(user)
        return await self._run_once(ctx, client_id, request_id, SymlinkOp(ctx, path_at, target).run)

    async def readlink(self, user: UserInfo, path_at: PathAt) -> bytes:
        self._check_path_at(path_at)
        return await self._run(ReadlinkOp(self._context(user), path_at).run)

    async def link(self, user: UserInfo, old_path: PathAt, new_path: PathAt, *, client_id: int = 0,
                   request_id: bytes = b"") -> Inode:
        self._check_path_at(old_path)
        self._check_path_at(new_path)
        ctx = self._context(user)
        return await self._run_once(ctx, client_id, request_id, LinkOp(ctx, old_path, new_path).run)

    async def setattr(
        self, user: UserInfo, target: Target, attributes: SetAttributes, follow_last_symlink: bool = True
    ) -> SetattrResult:
        """chmod/chown/utimensat/truncate on a path or an inode id; see ops/setattr.py."""
        self._check_target(target)
        self._check_attributes(attributes)
        return await self._run(SetattrOp(self._context(user), target, attributes, follow_last_symlink).run)

    async def mknod(self, user: UserInfo, path_at: PathAt, mode: int, rdev: int = 0) -> Inode:
        """mode: S_IFREG, S_IFIFO, S_IFCHR, S_IFBLK or S_IFSOCK type bits | permission bits."""
        self._check_path_at(path_at)
        self._check_u32(mode, "mode")
        self._check_u32(rdev, "rdev")
        return await self._run(MknodOp(self._context(user), path_at, mode, rdev).run)

    async def setxattr(self, user: UserInfo, target: Target, name: bytes, value: bytes, flags: int = 0,
                       follow_last_symlink: bool = True, *, client_id: int = 0, request_id: bytes = b"") -> Inode:
        self._check_target(target)
        check_xattr_name(name, self._config)
        if len(value) > self._config.xattr_value_bytes_max:
            raise fs_error(errno.E2BIG, f"xattr value of {len(value)} bytes > {self._config.xattr_value_bytes_max}")
        if flags & ~(XATTR_CREATE | XATTR_REPLACE):  # both at once: EEXIST if present, ENODATA if not (as ext4)
            raise fs_error(errno.EINVAL, f"bad xattr flags {flags}")
        ctx = self._context(user)
        op = SetxattrOp(ctx, target, name, value, flags, follow_last_symlink)
        return await self._run_once(ctx, client_id, request_id, op.run)

    async def getxattr(self, user: UserInfo, target: Target, name: bytes, follow_last_symlink: bool = True) -> bytes:
        self._check_target(target)
        check_xattr_name(name, self._config)
        return await self._run(GetxattrOp(self._context(user), target, name, follow_last_symlink).run)

    async def listxattr(self, user: UserInfo, target: Target, follow_last_symlink: bool = True) -> list[bytes]:
        self._check_target(target)
        return await self._run(ListxattrOp(self._context(user), target, follow_last_symlink).run)

    async def removexattr(self, user: UserInfo, target: Target, name: bytes, follow_last_symlink: bool = True, *,
                          client_id: int = 0, request_id: bytes = b"") -> Inode:
        self._check_target(target)
        check_xattr_name(name, self._config)
        ctx = self._context(user)
        return await self._run_once(ctx, client_id, request_id,
                                    RemovexattrOp(ctx, target, name, follow_last_symlink).run)

    async def statfs(self, user: UserInfo) -> StatfsResult:
        capacity = await self._capacity()
        return await self._run(StatfsOp(self._context(user), capacity).run)

    async def set_layout(self, user: UserInfo, target: Target, chain_table_id: int, chunk_size: int,
                         stripe_size: int, chain_table_version: int = 0) -> Inode:
        """A directory's layout for new children. Raises EINVAL for a chunk size
        that is no power of two or out of [chunk_size_min, chunk_size_max], a
        stripe out of [1, stripe_size_max], or chain table 0."""
        self._check_target(target)
        config = self._config
        if not config.chunk_size_min <= chunk_size <= config.chunk_size_max or chunk_size & (chunk_size - 1):
            raise fs_error(errno.EINVAL, f"chunk size {chunk_size} is no power of two in "
                                         f"[{config.chunk_size_min}, {config.chunk_size_max}]")
        if not 1 <= stripe_size <= config.stripe_size_max:
            raise fs_error(errno.EINVAL, f"stripe size {stripe_size} not in [1, {config.stripe_size_max}]")
        self._check_u32(chain_table_id, "chain_table_id")
        self._check_u32(chain_table_version, "chain_table_version")
        if chain_table_id == 0:
            raise fs_error(errno.EINVAL, "chain table 0 does not exist")
        layout = Layout(chain_table_id, chain_table_version, chunk_size, stripe_size)
        return await self._run(SetLayoutOp(self._context(user), target, layout).run)

    def _check_target(self, target: Target) -> None:
        if isinstance(target, int):
            self._check_inode_id(target)
        else:
            self._check_path_at(target)

    def _check_attributes(self, attributes: SetAttributes) -> None:
        if attributes.mode is not None:
            self._check_mode(attributes.mode)
        for value, what in ((attributes.uid, "uid"), (attributes.gid, "gid")):
            if value is not None:
                self._check_u32(value, what)
        if attributes.length is not None:
            self._check_u64(attributes.length, "length")
            if attributes.length > _I64_MAX:
                raise fs_error(errno.EFBIG, f"length {attributes.length} beyond the largest file")
        for value, now, what in ((attributes.atime_ns, attributes.atime_now, "atime"),
                                 (attributes.mtime_ns, attributes.mtime_now, "mtime")):
            if value is not None and now:
                raise fs_error(errno.EINVAL, f"{what} both explicit and now")
            if value is not None and not _I64_MIN <= value <= _I64_MAX:
                raise fs_error(errno.EINVAL, f"{what} {value} out of i64 range")

    # ---- cluster-wide file locks -----------------------------------------------
    def _check_lock_holder(self, client_id: int, owner: int) -> None:
        self._check_u64(owner, "owner")
        if not client_id or client_id > _U64_MAX:
            raise fs_error(errno.EINVAL, "a lock needs the holder's client id")

    def _lock_request(self, inode_id: int, kind: int, client_id: int, owner: int, lock_type: int, start: int,
                      end: int, pid: int, wait: bool = False) -> LockRequest:
        self._check_inode_id(inode_id)
        self._check_lock_holder(client_id, owner)
        self._check_u32(pid, "pid")
        if kind not in (LockKind.POSIX, LockKind.FLOCK):
            raise fs_error(errno.EINVAL, f"unknown lock kind {kind}")
        if lock_type not in (LockType.READ, LockType.WRITE, LockType.UNLOCK):
            raise fs_error(errno.EINVAL, f"unknown lock type {lock_type}")
        return LockRequest(inode_id, LockKind(kind), client_id, owner, LockType(lock_type), start, end, pid, wait)

    async def set_file_lock(self, user: UserInfo, inode_id: int, kind: int, client_id: int, owner: int,
                            lock_type: int, start: int = 0, end: int = OFFSET_MAX, pid: int = 0,
                            wait: bool = False) -> None:
        """Lock or unlock a range for (client_id, owner).

        Raises: EAGAIN if another live holder conflicts (with `wait`, the refusal of a POSIX lock is
        recorded for deadlock detection: the caller retries), EDEADLK if waiting would never end."""
        request = self._lock_request(inode_id, kind, client_id, owner, lock_type, start, end, pid, wait)
        op = SetFileLockOp(self._context(user), request)
        outcome = await self._run(op.run)
        if outcome == LockOutcome.WAITING:
            raise fs_error(errno.EAGAIN, op.message)
        if outcome == LockOutcome.DEADLOCK:
            raise fs_error(errno.EDEADLK, op.message)

    async def stop_lock_wait(self, user: UserInfo, client_id: int, owner: int) -> None:
        """The holder stopped waiting for a POSIX lock (interrupted)."""
        self._check_lock_holder(client_id, owner)
        await self._run(StopLockWaitOp(self._context(user), client_id, owner).run)

    async def get_file_lock(self, user: UserInfo, inode_id: int, kind: int, client_id: int, owner: int,
                            lock_type: int, start: int = 0, end: int = OFFSET_MAX) -> FileLock | None:
        request = self._lock_request(inode_id, kind, client_id, owner, lock_type, start, end, 0)
        return await self._run(GetFileLockOp(self._context(user), request).run)

    async def release_file_locks(self, user: UserInfo, inode_id: int, kind: int, client_id: int, owner: int) -> None:
        self._lock_request(inode_id, kind, client_id, owner, LockType.UNLOCK, 0, OFFSET_MAX, 0)
        await self._run(ReleaseFileLocksOp(self._context(user), inode_id, LockKind(kind), client_id, owner).run)

    # ---- administrator inspection (read-only snapshots) -------------------------
    async def dump_inodes(self, user: UserInfo, after_inode_id: int | None, limit: int) -> InodePage:
        if after_inode_id is not None:
            self._check_u64(after_inode_id, "after_inode_id")
        limit = self._page_limit(limit)
        return await self._run(DumpInodesOp(self._context(user), after_inode_id, limit).run)

    async def check_inodes(self, user: UserInfo, inode_ids: list[int]) -> list[InodeState]:
        if len(inode_ids) > self._config.inspect_page_max:
            raise fs_error(errno.EINVAL, f"{len(inode_ids)} inode ids in one call; at most "
                                         f"{self._config.inspect_page_max}")
        for inode_id in inode_ids:
            self._check_u64(inode_id, "inode_id")
        return await self._run(CheckInodesOp(self._context(user), list(inode_ids)).run)

    async def list_gc_queue(self, user: UserInfo, after_inode_id: int | None, limit: int):
        if after_inode_id is not None:
            self._check_u64(after_inode_id, "after_inode_id")
        return await self._run(ListGcQueueOp(self._context(user), after_inode_id, self._page_limit(limit)).run)

    async def fsck(self, user: UserInfo) -> FsckReport:
        return await self._run(FsckOp(self._context(user)).run)

    def _page_limit(self, limit: int) -> int:
        """0 or more than the bound: the bound."""
        self._check_u32(limit, "limit")
        return min(limit or self._config.inspect_page_max, self._config.inspect_page_max)

    def _context(self, user: UserInfo) -> OpContext:
        self._check_u32(user.uid, "uid")
        self._check_u32(user.gid, "gid")
        return OpContext(
            user=user,
            config=self._config,
            now_ns=self._clock.now_ns(),
            allocate_inode_id=self._allocator.allocate,
        )

    async def _run(self, body: Callable[[Transaction], Awaitable[T]]) -> T:
        try:
            return await run_transaction(self._engine, body, policy=self._policy, rng=self._rng)
        except TransactionRetryLimit as error:
            raise Fs3Error(StatusCode.TIMEOUT, f"metadata transaction did not commit: {error}") from error

    async def _run_once(self, ctx: OpContext, client_id: int, request_id: bytes,
                        body: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run `body` once per (client_id, request_id): its result (an inode, or None) is recorded in
        the same transaction, and a retry after a lost reply returns that result instead of running
        again (which would answer EEXIST or ENOENT). An empty request_id: not recorded."""
        if not request_id:
            return await self._run(body)
        self._check_u64(client_id, "client_id")
        if not client_id or len(request_id) > _REQUEST_ID_BYTES_MAX:
            raise fs_error(errno.EINVAL, f"a request id (at most {_REQUEST_ID_BYTES_MAX} bytes) needs a client id")

        async def once(txn: Transaction):
            done = await load_op_record(txn, client_id, request_id)
            if done is not None:
                return done.result
            result = await body(txn)
            assert result is None or isinstance(result, Inode), f"op result {type(result)} cannot be recorded"
            store_op_record(txn, client_id, request_id, OpRecord(result, ctx.now_ns))
            return result

        return await self._run(once)

    def _new_session_id(self) -> int:
        return self._rng.getrandbits(63) + 1

    def _check_path_at(self, path_at: PathAt) -> None:
        self._check_u64(path_at.parent, "parent")
        check_path(path_at.path, self._config)

    def _check_inode_id(self, inode_id: int) -> None:
        self._check_u64(inode_id, "inode_id")
        if inode_id == 0:
            raise fs_error(errno.ENOENT, "inode id 0 does not exist")

    @staticmethod
    def _check_mode(mode: int) -> None:
        if not 0 <= mode <= _MODE_BITS:
            raise fs_error(errno.EINVAL, f"mode {mode:#o} has bits outside 0o7777")

    @staticmethod
    def _check_u32(value: int, what: str) -> None:
        if not 0 <= value <= _U32_MAX:
            raise fs_error(errno.EINVAL, f"{what} {value} out of u32 range")

    @staticmethod
    def _check_u64(value: int, what: str) -> None:
        if not 0 <= value <= _U64_MAX:
            raise fs_error(errno.EINVAL, f"{what} {value} out of u64 range")
