"""Targets this storage node creates and empties on its disks (admin operations).

- **Create** (`fs3 create-targets`): a new, empty target in a folder
  `<disk>/target-<id>` on one of the node's disks (`StorageServiceConfig.disks`),
  with a `target.json` marker naming it; the next heartbeat reports it and
  the cluster manager lists it as a free target. At start-up
  `discover_targets` finds every marked folder again (3FS does the same: a
  storage node owns what its disks hold, the manager learns it by heartbeat).
- **Replace** (`fs3 replace-target`, `fs3 replace-disk`): empty a target that
  the cluster manager holds offline (`admin_offline`, public state offline):
  its disk was swapped, or it left its chain with stale chunks. Same id, same
  path (3FS also recreates a replaced target under its old id): the engine is
  closed once the calls in flight have returned, the folder is moved aside
  and deleted, and a new, empty engine opens in its place. The target then
  reports ONLINE; once the operator brings it back, its chain recovers it
  from its predecessor like a returning target (replication.md "Recovery").
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Awaitable, Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import LocalState, PublicState, RoutingInfo
from fs3.storage.chunk_engine import ChunkEngineConfig
from fs3.storage.node import StorageNode
from fs3.storage.target import StorageTarget

__all__ = ["TargetAdmin", "discover_targets", "target_folder", "MARKER_FILE"]

logger = logging.getLogger(__name__)

MARKER_FILE = "target.json"
_MARKER_FORMAT = 1
_RETIRE_TIMEOUT_S = 30.0  # calls in flight on a target being replaced finish well within an RPC timeout


def target_folder(disk: str, target_id: int) -> str:
    return os.path.join(os.path.abspath(disk), f"target-{target_id}")


def discover_targets(disks: list[str], known_paths: set[str] = frozenset()) -> list[tuple[int, str]]:
    """(target_id, path) of every marked target folder on `disks` not in `known_paths` (blocking: start-up only).

    Raises:
        Fs3Error(EEXIST): two folders claim one target id.
    """
    found: dict[int, str] = {}
    known = {os.path.abspath(path) for path in known_paths}
    for disk in disks:
        if not os.path.isdir(disk):
            raise Fs3Error(errno.ENOENT, f"disk folder {disk} does not exist")
        for name in sorted(os.listdir(disk)):
            path = os.path.join(os.path.abspath(disk), name)
            marker = os.path.join(path, MARKER_FILE)
            if path in known or not os.path.isfile(marker):
                continue
            with open(marker) as file:
                target_id = int(json.load(file)["target_id"])
            if target_id in found:
                raise Fs3Error(errno.EEXIST, f"target {target_id} is in both {found[target_id]} and {path}")
            found[target_id] = path
    return sorted(found.items())


def _write_marker(path: str, target_id: int) -> None:
    temporary = os.path.join(path, MARKER_FILE + ".tmp")
    with open(temporary, "w") as file:
        json.dump({"format": _MARKER_FORMAT, "target_id": target_id, "created_ms": int(time.time() * 1000)}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, os.path.join(path, MARKER_FILE))
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class TargetAdmin:
    """Create and replace targets of one storage node; one operation at a time."""

    def __init__(
        self,
        node: StorageNode,
        executor: ThreadPoolExecutor,
        engine_config: ChunkEngineConfig,
        disks: list[str],
        refresh_routing: Callable[[], Awaitable[RoutingInfo]],
    ) -> None:
        self.node = node
        self.executor = executor
        self.engine_config = engine_config
        self.disks = [os.path.abspath(disk) for disk in disks]
        self._refresh_routing = refresh_routing
        self._lock = asyncio.Lock()

    def _disk(self, disk: str) -> str:
        if disk.isdigit() and int(disk) < len(self.disks):
            return self.disks[int(disk)]
        if disk and os.path.abspath(disk) in self.disks:
            return os.path.abspath(disk)
        raise Fs3Error(errno.EINVAL, f"storage node {self.node.node_id} has no disk {disk!r} "
                                     f"(its disks: {', '.join(self.disks) or 'none configured'})")

    async def _in_thread(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, lambda: function(*args))

    async def create_target(self, target_id: int, disk: str) -> str:
        """A new empty target on `disk` (a configured disk's path or index); returns its folder."""
        if target_id <= 0:
            raise Fs3Error(errno.EINVAL, "target id must be positive")
        async with self._lock:
            folder = target_folder(self._disk(disk), target_id)
            routing = await self._refresh_routing()
            known = routing.targets.get(target_id)
            if target_id in self.node.targets or (known is not None and known.node_id != self.node.node_id):
                where = self.node.node_id if known is None else known.node_id
                raise Fs3Error(errno.EEXIST, f"target {target_id} already exists (on node {where})")
            if await self._in_thread(os.path.exists, folder):
                raise Fs3Error(errno.EEXIST, f"{folder} already exists")
            target = await self._in_thread(self._make_target, target_id, folder)
            self.node.add_target(target, LocalState.UP_TO_DATE)  # in no chain: nothing to recover
        logger.info("created target %d in %s", target_id, folder)
        return folder

    def _make_target(self, target_id: int, folder: str) -> StorageTarget:
        os.makedirs(folder)
        _write_marker(folder, target_id)
        return StorageTarget(target_id, folder, self.executor, self.engine_config)

    async def replace_target(self, target_id: int) -> str:
        """Empty a target the cluster manager holds offline; returns its folder (module docstring)."""
        async with self._lock:
            old = self.node.targets.get(target_id)
            if old is None:
                raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} is not on storage node "
                                                          f"{self.node.node_id}")
            routing = await self._refresh_routing()
            info = routing.targets.get(target_id)
            held_offline = info is not None and info.admin_offline and (
                info.chain_id == 0 or info.public_state == PublicState.OFFLINE)
            if not held_offline:
                state = "unknown to the cluster manager" if info is None else (
                    f"{info.public_state.name.lower()}{' (offline by an operator)' if info.admin_offline else ''}")
                raise Fs3Error(errno.EBUSY, f"target {target_id} is {state}; the cluster manager must hold it "
                                            f"offline first (`fs3 offline-target {target_id}`)")
            await old.retire(timeout_s=_RETIRE_TIMEOUT_S)
            new, aside = await self._in_thread(self._empty_target, old)
            self.node.add_target(new, LocalState.ONLINE if info.chain_id else LocalState.UP_TO_DATE)
        logger.warning("target %d emptied in %s (replaced)", target_id, new.path)
        # The old chunks go in the background: deleting gigabytes must not hold up the reply.
        asyncio.get_running_loop().run_in_executor(self.executor, lambda: shutil.rmtree(aside, ignore_errors=True))
        return new.path

    def _empty_target(self, old: StorageTarget) -> tuple[StorageTarget, str]:
        """Close, move the folder aside, open an empty engine in its place; returns it and the old folder."""
        old.close()
        path = os.path.abspath(old.path)
        marked = os.path.isfile(os.path.join(path, MARKER_FILE))
        aside = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.replaced-{int(time.time() * 1000)}")
        if os.path.exists(path):
            os.rename(path, aside)
        os.makedirs(path)
        if marked:
            _write_marker(path, old.target_id)
        return StorageTarget(old.target_id, path, self.executor, self.engine_config), aside
