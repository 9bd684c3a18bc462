"""Pruning write sessions of dead clients.

A client records its liveness in `CLNT + client_id` (store/client.py):
when it opens a file for writing and on its heartbeats (the client library
heartbeats while it holds files open for writing). Each meta service runs a
`SessionPruner`; every `session_prune_interval_s` a pass:

1. walks all write sessions in pages of `session_prune_batch_size` (one
   transaction per page, snapshot scan): a session whose client was last
   seen (or, without a record, which was opened) more than
   `client_session_timeout_s` ago is removed. The client record is read
   with a conflict, so a heartbeat racing the prune makes it retry and see
   the client alive;
2. removes the file locks (store/file_lock.py) of clients dead by the same
   rule, in pages too (a conflicting lock request also drops them at once);
3. clears client records older than the timeout (their sessions are gone
   or go by their own open time);
4. drops idempotence records (store/idempotence.py) older than
   `idempotence_retention_s`: a retry comes within seconds, not hours;
5. drops lock-wait records (store/lock_wait.py) not refreshed for
   `lock_wait_stale_s` (their client was killed while waiting).

Once a dead writer's sessions are gone, the GC removes the chunks of its
unlinked files. Pruning is idempotent; several services may run it.
"""

from __future__ import annotations

import functools
import logging

from fs3.meta.components.background import BackgroundComponent
from fs3.kv.interface import KvEngine, RetryPolicy, Transaction, key_after, prefix_range, run_transaction
from fs3.meta.clock import Clock, WallClock
from fs3.meta.config import MetaConfig
from fs3.meta.store import keys
from fs3.meta.store.client import list_clients, load_client_seen, remove_client
from fs3.meta.store.file_lock import decode_file_lock, remove_file_lock
from fs3.meta.store.idempotence import record_created_at_ns
from fs3.meta.store.lock_wait import lock_wait_updated_ns
from fs3.meta.store.session import WriteSession, list_all_sessions, remove_session

__all__ = ["SessionPruner"]

logger = logging.getLogger(__name__)


class SessionPruner(BackgroundComponent):
    def __init__(self, engine: KvEngine, config: MetaConfig, *, clock: Clock | None = None) -> None:
        self._engine = engine
        self._config = config
        self._clock = clock or WallClock()
        self._policy = RetryPolicy(retries_max=config.op_retries_max, deadline_s=config.op_deadline_s)
        super().__init__()
        self.pruned_sessions = 0
        self.pruned_locks = 0
        self.expired_records = 0

    def _timeout_ns(self) -> int:
        return int(self._config.client_session_timeout_s * 1e9)

    async def run_once(self) -> int:
        """One pass over all sessions and client records; returns the sessions removed."""
        pruned = 0
        after: tuple[int, int] | None = None
        while True:
            removed, after = await run_transaction(
                self._engine, lambda txn, after=after: self._prune_page(txn, after), policy=self._policy)
            pruned += removed
            if after is None:
                break
        after_key: bytes | None = b""
        while after_key is not None:
            removed, after_key = await run_transaction(
                self._engine, lambda txn, after_key=after_key: self._prune_lock_page(txn, after_key),
                policy=self._policy)
            self.pruned_locks += removed
        await run_transaction(self._engine, self._clear_clients, policy=self._policy)
        retention_ns = int(self._config.idempotence_retention_s * 1e9)
        stale_ns = int(self._config.lock_wait_stale_s * 1e9)
        for prefix, age_of, oldest_ns, snapshot in (
            (keys.IDEMPOTENCE_PREFIX, functools.partial(record_created_at_ns, keys.IDEMPOTENCE_PREFIX), retention_ns,
             True),
            (keys.OP_RECORD_PREFIX, functools.partial(record_created_at_ns, keys.OP_RECORD_PREFIX), retention_ns, True),
            # read with conflicts: a wait refreshed while we look must not be cleared
            (keys.LOCK_WAIT_PREFIX, lock_wait_updated_ns, stale_ns, False),
        ):
            after_key = b""
            while after_key is not None:
                removed, after_key = await run_transaction(
                    self._engine,
                    lambda txn, p=prefix, t=age_of, o=oldest_ns, a=after_key, n=snapshot:
                        self._expire_record_page(txn, p, t, o, a, snapshot=n),
                    policy=self._policy)
                self.expired_records += removed
        self.pruned_sessions += pruned
        if pruned:
            logger.info("pruned %d write sessions of dead clients", pruned)
        return pruned

    async def _prune_page(self, txn: Transaction, after: tuple[int, int] | None) -> tuple[int, tuple[int, int] | None]:
        now_ns = self._clock.now_ns()
        batch = self._config.session_prune_batch_size
        sessions = await list_all_sessions(txn, limit=batch, after=after, snapshot=True)
        seen: dict[int, int | None] = {}
        removed = 0
        for session in sessions:
            if session.client_id not in seen:
                seen[session.client_id] = (await load_client_seen(txn, session.client_id)
                                           if session.client_id else None)
            if self._is_dead(session, seen[session.client_id], now_ns):
                remove_session(txn, session.inode_id, session.session_id)
                removed += 1
        next_after = (sessions[-1].inode_id, sessions[-1].session_id) if len(sessions) == batch else None
        return removed, next_after

    def _is_dead(self, session: WriteSession, seen_ns: int | None, now_ns: int) -> bool:
        last_ns = max(seen_ns or 0, session.opened_at_ns)
        return now_ns - last_ns > self._timeout_ns()

    async def _prune_lock_page(self, txn: Transaction, after_key: bytes) -> tuple[int, bytes | None]:
        """Remove the locks of dead holders among one page of lock keys; the key to continue after."""
        now_ns = self._clock.now_ns()
        batch = self._config.session_prune_batch_size
        begin, end = prefix_range(keys.FILE_LOCK_PREFIX)
        rows = await txn.get_range(key_after(after_key) if after_key else begin, end, limit=batch, snapshot=True)
        removed = 0
        for row in rows:
            lock = decode_file_lock(row.key, row.value)
            seen_ns = await load_client_seen(txn, lock.client_id)  # conflicting: a racing heartbeat wins
            if now_ns - max(seen_ns or 0, lock.acquired_ns) > self._timeout_ns():
                remove_file_lock(txn, lock)
                removed += 1
        if removed:
            logger.info("removed %d file locks of dead clients", removed)
        return removed, (rows[-1].key if len(rows) == batch else None)

    async def _expire_record_page(self, txn: Transaction, prefix: bytes, written_ns_of, age_max_ns: int,
                                  after_key: bytes, *, snapshot: bool) -> tuple[int, bytes | None]:
        """Clear the records under `prefix` written (`written_ns_of(value)`) more than `age_max_ns` ago,
        in one page; the key to continue after."""
        oldest_ns = self._clock.now_ns() - age_max_ns
        batch = self._config.session_prune_batch_size
        begin, end = prefix_range(prefix)
        rows = await txn.get_range(key_after(after_key) if after_key else begin, end, limit=batch, snapshot=snapshot)
        removed = 0
        for row in rows:
            if written_ns_of(row.value) < oldest_ns:
                txn.clear(row.key)
                removed += 1
        return removed, (rows[-1].key if len(rows) == batch else None)

    async def _clear_clients(self, txn: Transaction) -> None:
        now_ns = self._clock.now_ns()
        for client_id, seen_ns in await list_clients(txn, limit=self._config.session_prune_batch_size * 4,
                                                     snapshot=True):
            if now_ns - seen_ns <= self._timeout_ns():
                continue
            current = await load_client_seen(txn, client_id)  # conflicting: a racing heartbeat wins
            if current is not None and now_ns - current > self._timeout_ns():
                remove_client(txn, client_id)

    name = "session prune pass"

    def _batch_size(self) -> int:
        return 1 << 62

    def _interval_s(self) -> float:
        return self._config.session_prune_interval_s
