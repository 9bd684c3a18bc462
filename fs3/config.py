"""Service configuration: typed dataclasses loaded from TOML files.

Every timeout, queue and buffer a service uses has a field here, so bounds
are explicit and visible in one place. `check()` asserts the relations between
them before a service starts.

Each class names its `HOT_FIELDS`: the settings a running service applies
live when the cluster manager distributes a new config for its node type
(`fs3 set-config`, `fs3.hot_config`). Every other setting is read once at
start-up and comes only from the node's own file.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path
from typing import Any, ClassVar, TypeVar

__all__ = [
    "MgmtdConfig",
    "MetaServiceConfig",
    "StorageServiceConfig",
    "TargetConfig",
    "load_config",
    "dump_config",
    "parse_address",
]

T = TypeVar("T")
MiB = 1 << 20


def parse_address(address: str) -> tuple[str, int]:
    """'host:port' -> (host, port), with a clear error."""
    host, separator, port = address.rpartition(":")
    if not separator or not host or not port.isdigit():
        raise ValueError(f"address {address!r} is not host:port")
    return host, int(port)


@dataclasses.dataclass
class MgmtdConfig:
    HOT_FIELDS: ClassVar[frozenset[str]] = frozenset({"log_level", "heartbeat_timeout_s", "state_update_interval_s"})

    node_id: int = 1
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = "/var/lib/fs3/mgmtd"
    kv_url: str = ""  # default: embedded store in data_dir
    heartbeat_timeout_s: float = 10.0
    state_update_interval_s: float = 0.5
    # Several instances share kv_url; the one holding the lease is primary.
    primary_lease_s: float = 5.0
    config_document_bytes_max: int = 64 << 10  # one node type's distributed settings (`fs3 set-config`)
    chain_migrations_max: int = 256  # chain moves (`fs3 move-chain`, `fs3 add-node`) in progress at once
    http_port: int = 0  # admin API and /metrics (fastapi); 0: off
    log_level: str = "INFO"
    # With no users yet, the primary creates user `root` (admin and root) with the token in this file.
    bootstrap_token_file: str = ""
    users_max: int = 10_000  # every service keeps a copy of the user table

    def check(self) -> None:
        assert self.heartbeat_timeout_s > 0
        assert 0 < self.state_update_interval_s < self.heartbeat_timeout_s
        assert self.primary_lease_s > 0
        assert 0 < self.config_document_bytes_max <= 4 << 20 and self.chain_migrations_max > 0
        assert 1 <= self.users_max <= 1_000_000


@dataclasses.dataclass
class MetaServiceConfig:
    HOT_FIELDS: ClassVar[frozenset[str]] = frozenset({
        "log_level", "heartbeat_interval_s", "gc_batch_size", "gc_interval_s", "capacity_refresh_s",
        "client_session_timeout_s", "session_prune_interval_s", "trash_clean_interval_s",
    })

    node_id: int = 50
    host: str = "127.0.0.1"
    port: int = 9000
    mgmtd_addresses: list[str] = dataclasses.field(default_factory=lambda: ["127.0.0.1:8000"])
    kv_url: str = "sqlite:///var/lib/fs3/meta/kv.db"
    heartbeat_interval_s: float = 1.0
    rpc_timeout_s: float = 10.0
    inflight_requests_max: int = 256
    default_chunk_size_bytes: int = 1 * MiB
    default_stripe_size: int = 16
    default_chain_table_id: int = 1
    metrics_port: int = 0  # Prometheus /metrics; 0: off
    gc_batch_size: int = 64         # removed files whose chunks one GC pass deletes
    gc_interval_s: float = 1.0      # pause between GC passes that found less than a batch
    capacity_refresh_s: float = 2.0  # statfs re-reads the targets' space from the manager at most this often
    client_session_timeout_s: float = 300.0  # write sessions of a client silent this long are pruned
    session_prune_interval_s: float = 10.0
    trash_expiry_min_s: float = 3600.0      # rmtree --expire bounds (tests lower the minimum)
    trash_expiry_max_s: float = 7 * 86400.0
    trash_clean_interval_s: float = 10.0    # pause between passes of the trash cleaner
    log_level: str = "INFO"
    cpu_latency_limit_us: int = -1  # hold a PM QoS CPU latency limit while running (fs3/cpu_latency.py); -1: off
    token_file: str = ""  # this service's own token (a user with the root flag): calls to mgmtd and storage
    user_table_refresh_min_s: float = 1.0  # an unknown token re-reads the user table at most this often

    def check(self) -> None:
        assert self.heartbeat_interval_s > 0
        assert 1 <= self.gc_batch_size <= 10_000 and self.gc_interval_s > 0 and self.capacity_refresh_s > 0
        assert self.default_chunk_size_bytes > 0 and self.default_chunk_size_bytes % 4096 == 0
        assert self.default_stripe_size > 0
        assert self.client_session_timeout_s > 0 and self.session_prune_interval_s > 0
        assert 0 < self.trash_expiry_min_s <= self.trash_expiry_max_s and self.trash_clean_interval_s > 0
        assert 0 < self.user_table_refresh_min_s <= 60


@dataclasses.dataclass
class TargetConfig:
    target_id: int
    path: str


@dataclasses.dataclass
class StorageServiceConfig:
    HOT_FIELDS: ClassVar[frozenset[str]] = frozenset({
        "log_level", "heartbeat_interval_s", "forward_retries_max", "resync_poll_interval_s",
        "resync_retry_delay_s", "resync_call_timeout_s",
    })

    node_id: int = 101
    host: str = "127.0.0.1"
    port: int = 9100
    mgmtd_addresses: list[str] = dataclasses.field(default_factory=lambda: ["127.0.0.1:8000"])
    targets: list[TargetConfig] = dataclasses.field(default_factory=list)
    # Folders (one per disk) where `fs3 create-targets` makes new targets; they are found again at start-up.
    disks: list[str] = dataclasses.field(default_factory=list)
    heartbeat_interval_s: float = 1.0
    io_threads: int = 8
    inflight_requests_max: int = 128
    payload_buffer_count: int = 64
    chunk_size_bytes_max: int = 64 * MiB
    forward_timeout_s: float = 10.0
    # the head asking its successor what it committed before it writes a chunk whose last forward failed;
    # the chunk's lock is held meanwhile, so this is short (no answer: the write goes down as the whole chunk)
    query_timeout_s: float = 1.0
    forward_retries_max: int = 20
    direct_io: bool = True
    # Chunk versions live in preallocated slot files of this size (per target and size class, fixed at creation).
    slot_file_bytes: int = 256 * MiB
    chunk_records_cached_max: int = 65536  # per target: chunk metadata rows kept in memory (~300 bytes each)
    # per target and size class: free slots beyond this many bytes give their disk blocks back (hole punch)
    free_slot_bytes_kept: int = 1024 * MiB
    metrics_port: int = 0  # Prometheus /metrics; 0: off
    resync_poll_interval_s: float = 0.2  # how often routing is checked for a syncing successor
    resync_concurrency_max: int = 4  # syncing targets recovered at once by this service
    resync_retry_delay_s: float = 0.5  # after a failed or interrupted recovery pass
    resync_call_timeout_s: float = 30.0  # one chunk transfer / metadata dump page
    chunk_meta_page_max: int = 8192  # chunks per DumpChunkMeta reply (~50 bytes each; frames hold 1 MiB)
    log_level: str = "INFO"
    cpu_latency_limit_us: int = -1  # hold a PM QoS CPU latency limit while running (fs3/cpu_latency.py); -1: off
    token_file: str = ""  # this service's own token (a user with the root flag): calls to mgmtd and peers
    user_table_refresh_min_s: float = 1.0  # an unknown token re-reads the user table at most this often
    # Same-host clients may register memory regions and move chunk payloads through them (fs3/net/shared_memory).
    shared_memory: bool = True
    shared_memory_region_bytes_max: int = 1024 * MiB  # one client region
    shared_memory_mapped_bytes_max: int = 16384 * MiB  # all regions mapped at once (address space, not memory)
    shared_memory_regions_max: int = 256
    shared_memory_registration_timeout_s: float = 5.0
    shared_memory_registrations_pending_max: int = 64  # connections still registering; beyond, closed at once

    def check(self) -> None:
        assert self.io_threads > 0
        assert self.inflight_requests_max > 0
        assert 0 < self.query_timeout_s <= 3600
        assert MiB <= self.slot_file_bytes <= 4096 * MiB
        assert 0 <= self.chunk_records_cached_max <= 1 << 24
        assert 0 <= self.free_slot_bytes_kept <= 1 << 40
        assert 0 < self.resync_poll_interval_s <= 60
        assert 1 <= self.resync_concurrency_max <= 1024
        assert 0 <= self.resync_retry_delay_s <= 600
        assert 0 < self.resync_call_timeout_s <= 3600
        assert 1 <= self.chunk_meta_page_max <= 16384
        assert 0 < self.user_table_refresh_min_s <= 60
        ids = [target.target_id for target in self.targets]
        assert len(ids) == len(set(ids)), f"duplicate target ids in {ids}"


def _build(cls: type[T], data: dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls)
    fields = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - fields
    if unknown:
        raise ValueError(f"unknown {cls.__name__} settings: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if typing.get_origin(hint) is list:
            (item_type,) = typing.get_args(hint)
            if dataclasses.is_dataclass(item_type):
                value = [_build(item_type, item) for item in value]
        values[name] = value
    return cls(**values)


def load_config(cls: type[T], path: str | Path) -> T:
    """Load a dataclass config from a TOML file; unknown keys are errors."""
    with open(path, "rb") as file:
        data = tomllib.load(file)
    config = _build(cls, data)
    config.check()  # type: ignore[attr-defined]
    return config


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if dataclasses.is_dataclass(value):
        inner = ", ".join(f"{key} = {_toml_value(item)}" for key, item in dataclasses.asdict(value).items())
        return "{ " + inner + " }"
    if isinstance(value, dict):
        inner = ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items())
        return "{ " + inner + " }"
    raise TypeError(f"cannot write {value!r} to TOML")


def dump_config(config: Any) -> str:
    """A TOML document that `load_config` reads back into an equal config."""
    lines = []
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            value = [dataclasses.asdict(item) for item in value]
        lines.append(f"{field.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
