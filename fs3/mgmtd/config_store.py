"""Per-node-type config documents kept by the cluster manager (`fs3 set-config`).

Each node type (mgmtd, meta, storage) has one TOML document of hot settings
(`fs3.hot_config`) with a version that only grows. It lives in the cluster
manager's KV store under `MGMT/config/<type>`, so a new primary hands out the
same documents. Services learn the version from heartbeat replies and apply
the document live; the primary cluster manager applies the mgmtd one itself.
A document is refused unless every setting in it is hot and valid.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import time
from typing import Any, Awaitable, Callable

from fs3.errors import Fs3Error
from fs3.hot_config import CONFIG_TYPES, apply_overrides, parse_overrides
from fs3.kv import KvEngine, Transaction, run_transaction
from fs3.kv.interface import prefix_range
from fs3.routing import NodeType

__all__ = ["ConfigRecord", "ConfigStore"]

logger = logging.getLogger(__name__)


_KEY_PREFIX = b"MGMT/config/"
_FORMAT = 1


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigRecord:
    """One version of a node type's distributed settings (version 0: never set, empty)."""

    node_type: NodeType
    version: int
    content: str = ""
    description: str = ""
    updated_ms: int = 0


def _key(node_type: NodeType) -> bytes:
    return _KEY_PREFIX + node_type.name.lower().encode()


def _encode(record: ConfigRecord) -> bytes:
    return json.dumps({**dataclasses.asdict(record), "node_type": int(record.node_type), "format": _FORMAT}).encode()


def _decode(blob: bytes) -> ConfigRecord:
    data = json.loads(blob)
    assert data.pop("format") == _FORMAT, "unknown config record format"
    data["node_type"] = NodeType(data["node_type"])
    return ConfigRecord(**data)


class ConfigStore:
    """The latest document of every node type, in memory and in the KV store. One event loop."""

    def __init__(
        self,
        engine: KvEngine,
        *,
        document_bytes_max: int,
        fence: Callable[[Transaction], Awaitable[None]] | None = None,
        wall_clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        assert document_bytes_max > 0
        self._engine = engine
        self._fence = fence
        self._wall_clock_ms = wall_clock_ms
        self.document_bytes_max = document_bytes_max
        self._latest: dict[NodeType, ConfigRecord] = {}

    async def load(self) -> None:
        """Read every stored document (a new primary starts from them)."""

        async def read(txn: Transaction) -> list[bytes]:
            begin, end = prefix_range(_KEY_PREFIX)
            return [row.value for row in await txn.get_range(begin, end, limit=len(CONFIG_TYPES) + 1)]

        for blob in await run_transaction(self._engine, read):
            record = _decode(blob)
            self._latest[record.node_type] = record

    def latest(self, node_type: NodeType) -> ConfigRecord:
        return self._latest.get(node_type) or ConfigRecord(node_type, 0)

    def versions(self) -> list[ConfigRecord]:
        """Every node type's latest record (content included)."""
        return [self.latest(node_type) for node_type in CONFIG_TYPES]

    async def set(self, node_type: NodeType, content: str, description: str = "", *,
                  base: Any | None = None) -> ConfigRecord:
        """Store `content` as the node type's next version.

        Args:
            base: the config the settings are checked against (its relations,
                `check()`); default: the node type's defaults. The primary passes
                its own config for the mgmtd document.

        Raises:
            Fs3Error(EINVAL): unknown node type, document too large, or a setting
                that is not hot or not valid (`fs3.hot_config.parse_overrides`).
        """
        config_type = CONFIG_TYPES.get(node_type)
        if config_type is None:
            raise Fs3Error(errno.EINVAL, f"node type {node_type.name} takes no distributed config")
        if len(content.encode()) > self.document_bytes_max:
            raise Fs3Error(errno.EINVAL, f"config document of {len(content.encode())} bytes exceeds "
                                         f"{self.document_bytes_max} bytes")
        overrides = parse_overrides(config_type, content)
        apply_overrides(base if base is not None else config_type(), overrides)
        now_ms = self._wall_clock_ms()

        async def write(txn: Transaction) -> ConfigRecord:
            if self._fence is not None:
                await self._fence(txn)
            stored = await txn.get(_key(node_type))
            version = (_decode(stored).version if stored is not None else 0) + 1
            record = ConfigRecord(node_type, version, content, description, now_ms)
            txn.set(_key(node_type), _encode(record))
            return record

        record = await run_transaction(self._engine, write)
        self._latest[node_type] = record
        logger.info("config of %s nodes is now version %d (%s)", node_type.name.lower(), record.version,
                    ", ".join(sorted(overrides)) or "no settings")
        return record
