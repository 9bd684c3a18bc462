"""The trash cleaner: deletes trash entries whose expiry passed.

Every `trash_clean_interval_s` a pass reads up to `trash_clean_batch_size`
expired TRSH records (earliest first). For each whose entry is still in
its trash directory under the same name and inode, it removes the tree
depth first through the ordinary unlink/rmdir ops as root (one small
transaction each, so any tree size works; files' chunks go through the GC
queue like any unlink), then clears the record. An entry renamed away
(restored) only loses its record. Everything is idempotent: after a crash,
or with several services cleaning at once, work is merely repeated or
finds ENOENT.
"""

from __future__ import annotations

import errno

from fs3.errors import Fs3Error
from fs3.meta.components.background import BackgroundComponent
from fs3.kv.interface import KvEngine, RetryPolicy, Transaction, run_transaction
from fs3.meta.clock import Clock, WallClock
from fs3.meta.config import MetaConfig
from fs3.meta.operator import MetaOperator
from fs3.meta.store.dir_entry import load_dir_entry
from fs3.meta.store.trash import TrashRecord, list_expired_trash, remove_trash_record
from fs3.meta.types import PathAt, UserInfo

__all__ = ["TrashCleaner"]


_ROOT = UserInfo(uid=0, gid=0)


def _ignore_missing(error: Fs3Error) -> None:
    if error.code != errno.ENOENT:
        raise error


class TrashCleaner(BackgroundComponent):
    def __init__(self, engine: KvEngine, operator: MetaOperator, config: MetaConfig, *,
                 clock: Clock | None = None) -> None:
        self._engine = engine
        self._operator = operator
        self._config = config
        self._clock = clock or WallClock()
        self._policy = RetryPolicy(retries_max=config.op_retries_max, deadline_s=config.op_deadline_s)
        super().__init__()
        self.removed_entries = 0

    async def run_once(self) -> int:
        """One batch of expired records; returns how many entries were deleted."""
        now_ns = self._clock.now_ns()
        records = await run_transaction(
            self._engine, lambda txn: list_expired_trash(txn, now_ns, limit=self._config.trash_clean_batch_size,
                                                         snapshot=True),
            policy=self._policy)
        deleted = 0
        for record in records:
            if await run_transaction(self._engine, lambda txn, record=record: self._still_there(txn, record),
                                     policy=self._policy):
                await self._remove_tree(record.trash_dir_id, record.name)
                deleted += 1
            await run_transaction(self._engine, lambda txn, record=record: self._forget(txn, record),
                                  policy=self._policy)
        self.removed_entries += deleted
        return deleted

    @staticmethod
    async def _still_there(txn: Transaction, record: TrashRecord) -> bool:
        entry = await load_dir_entry(txn, record.trash_dir_id, record.name, snapshot=True)
        return entry is not None and entry.inode_id == record.inode_id

    @staticmethod
    async def _forget(txn: Transaction, record: TrashRecord) -> None:
        remove_trash_record(txn, record)

    async def _remove_tree(self, trash_dir_id: int, name: bytes) -> None:
        """Depth first, without recursion: a directory is listed, its children
        pushed; when it lists empty it is removed."""
        operator = self._operator
        stack = [PathAt(parent=trash_dir_id, path=name)]
        while stack:
            current = stack[-1]
            try:
                inode = await operator.stat(_ROOT, current, follow_last_symlink=False)
            except Fs3Error as error:
                _ignore_missing(error)
                stack.pop()
                continue
            try:
                if not inode.is_directory:
                    await operator.unlink(_ROOT, current)
                    stack.pop()
                    continue
                listing = await operator.readdir(_ROOT, current, limit=self._config.readdir_limit_default)
                if not listing.entries:
                    await operator.rmdir(_ROOT, current)
                    stack.pop()
                    continue
            except Fs3Error as error:
                _ignore_missing(error)
                stack.pop()
                continue
            stack.extend(PathAt(parent=inode.inode_id, path=entry.name) for entry in listing.entries)

    name = "trash clean pass"

    def _batch_size(self) -> int:
        return self._config.trash_clean_batch_size

    def _interval_s(self) -> float:
        return self._config.trash_clean_interval_s
