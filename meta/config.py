"""Limits and defaults of the metadata service, with their relations checked."""

from __future__ import annotations

import dataclasses

from fs3.meta.types import Layout

__all__ = ["MetaConfig", "DEFAULT_LAYOUT"]

DEFAULT_LAYOUT = Layout(
    chain_table_id=1,
    chain_table_version=1,
    chunk_size=1 << 20,
    stripe_size=1,
)


@dataclasses.dataclass(frozen=True, slots=True)
class MetaConfig:
    """Settings of one metadata service.

    Attributes:
        default_layout: the root directory's layout at format time.
        chain_table_chains: chains in the default table; when > 0 a new file's
            first_chain_index is drawn in [0, chain_table_chains), else in
            [0, 2**32) and readers take it modulo the table size.
        symlink_follow_max: symlinks followed in one path walk before ELOOP
            (Linux: 40).
        name_bytes_max / path_bytes_max: NAME_MAX and PATH_MAX.
        readdir_limit_default / readdir_limit_max: page sizes of readdir.
        ancestor_walk_max: ceiling of the rename loop-detection walk (the
            deepest directory tree we accept).
        inode_id_shards / inode_id_batch_size: inode id allocator shape.
        op_deadline_s / op_retries_max: transaction retry bounds per call.
        xattr_name_bytes_max / xattr_value_bytes_max: XATTR_NAME_MAX and
            XATTR_SIZE_MAX of Linux (255, 64 KiB).
        xattr_list_max: most attributes one inode may hold (and listxattr returns).
        chunk_size_min / chunk_size_max / stripe_size_max: bounds of set_layout.
        statfs_files_max: the file count statfs reports as the total.
        statfs_inode_scan_max: most inode keys statfs counts (a snapshot scan);
            past it the used count is reported as this bound.
        gc_batch_size / gc_interval_s / gc_claim_s: the chunk GC component takes
            at most gc_batch_size queue entries per pass, sleeps gc_interval_s
            between passes, and holds a claimed entry for gc_claim_s.
        client_session_timeout_s: a client not seen (write-session open or
            heartbeat) for this long is dead: the session pruner removes its
            write sessions, so deferred GC of its unlinked files proceeds.
        lock_wait_stale_s: a blocked POSIX lock request's wait record
            (for deadlock detection) not refreshed for this long is gone;
            clients refresh it at every retry (at most every 0.25 s).
        lock_deadlock_search_max: most lock holders one deadlock check
            visits (beyond: no deadlock reported).
        session_prune_interval_s / session_prune_batch_size: pruner passes and
            the sessions one transaction of a pass looks at.
        trash_expiry_min_s / trash_expiry_max_s: allowed expiries of
            remove_tree_to_trash (1 hour .. 7 days; tests lower the minimum).
        trash_clean_interval_s / trash_clean_batch_size: the trash cleaner's
            pause between passes and the expired entries one pass takes.
        idempotence_retention_s: how long a call's idempotence record (its
            result for a retry after a lost reply) is kept; the session
            pruner drops older ones.
        inspect_page_max: most inodes / GC records / inode ids in one
            administrator inspection call (dump-inodes, gc, orphan search).
        fsck_inodes_max: fsck refuses (EFBIG) namespaces with more inodes
            (it holds them in memory, in one snapshot transaction).
        client_list_max / client_sessions_scan_max: most clients one
            `fs3 clients` listing returns, and write sessions it counts.
    """

    default_layout: Layout = DEFAULT_LAYOUT
    chain_table_chains: int = 0
    symlink_follow_max: int = 40
    name_bytes_max: int = 255
    path_bytes_max: int = 4096
    readdir_limit_default: int = 1000
    readdir_limit_max: int = 10000
    ancestor_walk_max: int = 65536
    inode_id_shards: int = 32
    inode_id_batch_size: int = 256
    op_deadline_s: float = 30.0
    op_retries_max: int = 100
    xattr_name_bytes_max: int = 255
    xattr_value_bytes_max: int = 64 << 10
    xattr_list_max: int = 1024
    chunk_size_min: int = 4 << 10
    chunk_size_max: int = 64 << 20
    stripe_size_max: int = 1024
    statfs_files_max: int = 1 << 40
    statfs_inode_scan_max: int = 1 << 20
    gc_batch_size: int = 64
    gc_interval_s: float = 1.0
    gc_claim_s: float = 60.0
    client_session_timeout_s: float = 300.0
    lock_wait_stale_s: float = 2.0
    lock_deadlock_search_max: int = 1024
    session_prune_interval_s: float = 10.0
    session_prune_batch_size: int = 256
    trash_expiry_min_s: float = 3600.0
    trash_expiry_max_s: float = 7 * 86400.0
    trash_clean_interval_s: float = 10.0
    trash_clean_batch_size: int = 64
    inspect_page_max: int = 4096
    idempotence_retention_s: float = 3600.0
    fsck_inodes_max: int = 2_000_000
    client_list_max: int = 10_000
    client_sessions_scan_max: int = 1 << 20

    def check(self) -> None:
        """Assert the relations between settings (call once at start-up)."""
        assert self.default_layout.chunk_size > 0, "chunk size must be positive"
        assert self.default_layout.stripe_size > 0, "stripe size must be positive"
        assert self.chain_table_chains >= 0
        assert 0 < self.name_bytes_max <= self.path_bytes_max
        assert self.symlink_follow_max >= 1
        assert 0 < self.readdir_limit_default <= self.readdir_limit_max
        # A path of one-byte names nests at most path_bytes_max/2 directories.
        assert self.ancestor_walk_max >= self.path_bytes_max // 2
        assert 1 <= self.inode_id_shards <= 1 << 16
        assert self.inode_id_batch_size >= 1
        assert self.op_deadline_s > 0
        assert self.op_retries_max >= 1
        assert 0 < self.xattr_name_bytes_max <= 255 and 0 < self.xattr_value_bytes_max <= 1 << 20
        assert self.xattr_list_max >= 1
        assert 0 < self.chunk_size_min <= self.default_layout.chunk_size <= self.chunk_size_max
        assert 1 <= self.default_layout.stripe_size <= self.stripe_size_max
        assert self.statfs_files_max >= 1 and self.statfs_inode_scan_max >= 1
        assert 1 <= self.gc_batch_size <= 10_000
        assert self.gc_interval_s > 0 and self.gc_claim_s > 0
        assert self.client_session_timeout_s > 0 and self.session_prune_interval_s > 0
        assert self.lock_wait_stale_s > 0 and self.lock_deadlock_search_max >= 1
        assert 1 <= self.session_prune_batch_size <= 10_000
        assert 0 < self.trash_expiry_min_s <= self.trash_expiry_max_s
        assert self.trash_clean_interval_s > 0 and 1 <= self.trash_clean_batch_size <= 10_000
        assert 1 <= self.inspect_page_max <= 16384 and self.fsck_inodes_max >= 1
        assert self.idempotence_retention_s > 0
        assert self.client_list_max >= 1 and self.client_sessions_scan_max >= 1
