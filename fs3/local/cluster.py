"""A whole fs3 cluster on one machine, with all its data under one folder.

Layout of the folder:

    cluster.json            ports, node ids, pids (written by `up`)
    admin.token             the token of user `root` (admin and root flags), mode 0600;
                            the cluster manager creates `root` from it on first start,
                            every service uses it for its own calls, and so do the
                            CLI and clients on this machine by default
    conf/<service>.toml     each service's config
    logs/<service>.log      each service's stdout/stderr
    mgmtd/                  the cluster manager's state store
    meta/kv.db              the metadata store shared by every metadata service
    storage-<node>/target-<id>/   chunk targets (storage-<node>/ is the node's one disk:
                            `fs3 create-targets` adds targets there too)

`fs3 local up/down/status` and the test fixtures both drive this class, so
what the tests start is exactly what a user starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fs3.config import (
    MgmtdConfig,
    MetaServiceConfig,
    StorageServiceConfig,
    TargetConfig,
    dump_config,
    load_config,
)
from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.client import MgmtdClient
from fs3.routing import LocalState, NodeType, PublicState, RoutingInfo
from fs3.tokens import LOCAL_TOKEN_FILE_NAME, new_token, read_token_file, write_token_file

__all__ = ["LocalCluster", "LocalClusterSpec", "ServiceProcess", "free_port"]

MGMTD_NODE_ID = 1
META_NODE_ID_BASE = 50
STORAGE_NODE_ID_BASE = 100
CHAIN_TABLE_ID = 1

# glibc returns large buffers to the OS and faults them back per message
# unless told otherwise (limits.md): 0.2 -> 2 GB/s on the data path.
_SERVICE_ENVIRONMENT = {
    "MALLOC_MMAP_THRESHOLD_": "16777216",
    "MALLOC_TRIM_THRESHOLD_": "268435456",
    "PYTHONUNBUFFERED": "1",
}


_SERVICE_PORTS = range(10_000, 32_768)  # below Linux's ephemeral range (32768-60999 by default)


_ports_handed_out: set[int] = set()


def free_port() -> int:
    """A port no one listens on now, chosen below the ephemeral range: the kernel's port 0 would hand
    out an ephemeral port, which any outgoing connection may take as its source port before the
    service (started later) binds it. Never the same port twice in one process: the services of a
    cluster bind theirs only when started, so a port handed out is still free when probed again
    (two services of one cluster once drew the same port)."""
    for _attempt in range(200):
        port = random.choice(_SERVICE_PORTS)
        if port in _ports_handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            _ports_handed_out.add(port)
            return port
    raise OSError(errno.EADDRINUSE, "no free port for a service below the ephemeral range")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclasses.dataclass
class LocalClusterSpec:
    meta_services: int = 2
    mgmtd_services: int = 1
    storage_services: int = 3
    targets_per_storage: int = 5
    replication_factor: int = 3
    heartbeat_timeout_s: float = 10.0
    chunk_size_bytes: int = 1 << 20
    stripe_size: int = 16
    direct_io: bool = True
    slot_file_bytes: int = 64 << 20  # small preallocation: 15 targets share one disk
    cpu_latency_limit_us: int = -1  # metadata and storage services hold this PM QoS limit (-1: off)
    # MetaServiceConfig fields set on every metadata service (tests: short trash expiry, ...)
    meta_options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ServiceProcess:
    name: str
    module: str
    node_id: int
    port: int
    config_path: str
    log_path: str
    pid: int = 0
    http_port: int = 0  # cluster manager admin API
    metrics_port: int = 0


_CONFIG_TYPES = {"fs3.mgmtd": MgmtdConfig, "fs3.meta": MetaServiceConfig, "fs3.storage": StorageServiceConfig}


class LocalCluster:
    """Args:
        admin_token: the token user `root` gets on first start (default: a new random one).
    """

    def __init__(self, data_dir: str | os.PathLike, spec: LocalClusterSpec | None = None, *,
                 admin_token: str | None = None) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.state_path = self.data_dir / "cluster.json"
        self.token_path = self.data_dir / LOCAL_TOKEN_FILE_NAME
        self.spec = spec or LocalClusterSpec()
        self.services: dict[str, ServiceProcess] = {}
        self._children: dict[str, subprocess.Popen] = {}
        self._admin_token = admin_token
        self._token: str | None = None
        if self.state_path.exists():
            self._load_state()

    # ---- state file -----------------------------------------------------------
    def _load_state(self) -> None:
        state = json.loads(self.state_path.read_text())
        self.spec = LocalClusterSpec(**state["spec"])
        self.services = {name: ServiceProcess(**service) for name, service in state["services"].items()}

    def _save_state(self) -> None:
        state = {
            "spec": dataclasses.asdict(self.spec),
            "services": {name: dataclasses.asdict(service) for name, service in self.services.items()},
        }
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self.state_path)

    @property
    def mgmtd_address(self) -> str:
        """The first cluster manager's address (use mgmtd_addresses to fail over)."""
        return f"127.0.0.1:{self.services['mgmtd'].port}"

    @property
    def mgmtd_addresses(self) -> list[str]:
        return [
            f"127.0.0.1:{service.port}" for service in self.services.values() if service.module == "fs3.mgmtd"
        ]

    @property
    def initialized(self) -> bool:
        return bool(self.services)

    @property
    def token(self) -> str:
        """The admin token of user `root` (read from admin.token)."""
        if self._token is None:
            self._token = read_token_file(self.token_path)
        return self._token

    def _write_token_file(self) -> None:
        """admin.token, once: the given admin token or a new one."""
        if not self.token_path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            write_token_file(self.token_path, self._admin_token or new_token())

    def _add_tokens_to_configs(self) -> None:
        """A cluster folder made before users and tokens: give it a token and every service its setting."""
        self._write_token_file()
        for service in self.services.values():
            config = load_config(_CONFIG_TYPES[service.module], service.config_path)
            if service.module == "fs3.mgmtd":
                config = dataclasses.replace(config, bootstrap_token_file=str(self.token_path))
            else:
                config = dataclasses.replace(config, token_file=str(self.token_path))
            Path(service.config_path).write_text(dump_config(config))

    # ---- layout ---------------------------------------------------------------
    def _initialize(self) -> None:
        """Choose node ids and ports and write every service's config, once."""
        for folder in ("conf", "logs", "mgmtd", "meta"):
            (self.data_dir / folder).mkdir(parents=True, exist_ok=True)
        self._write_token_file()
        token_file = str(self.token_path)
        spec = self.spec
        mgmtd_addresses = []
        for index in range(spec.mgmtd_services):
            # Every instance shares one state store; the lease holder is primary.
            mgmtd = MgmtdConfig(
                node_id=MGMTD_NODE_ID + index, port=free_port(),
                data_dir=str(self.data_dir / "mgmtd" / f"instance-{index + 1}"),
                kv_url=f"sqlite://{self.data_dir / 'mgmtd' / 'kv.db'}",
                heartbeat_timeout_s=spec.heartbeat_timeout_s,
                state_update_interval_s=min(0.5, spec.heartbeat_timeout_s / 4),
                primary_lease_s=min(5.0, spec.heartbeat_timeout_s / 2),
                http_port=free_port(), bootstrap_token_file=token_file,
            )
            name = "mgmtd" if index == 0 else f"mgmtd-{mgmtd.node_id}"
            self._add_service(name, "fs3.mgmtd", mgmtd.node_id, mgmtd.port, mgmtd, http_port=mgmtd.http_port)
            mgmtd_addresses.append(f"127.0.0.1:{mgmtd.port}")
        heartbeat_interval_s = min(1.0, spec.heartbeat_timeout_s / 5)
        for index in range(spec.meta_services):
            meta = MetaServiceConfig(
                node_id=META_NODE_ID_BASE + index, port=free_port(), mgmtd_addresses=mgmtd_addresses,
                kv_url=f"sqlite://{self.data_dir / 'meta' / 'kv.db'}", heartbeat_interval_s=heartbeat_interval_s,
                default_chunk_size_bytes=spec.chunk_size_bytes, default_stripe_size=spec.stripe_size,
                default_chain_table_id=CHAIN_TABLE_ID, metrics_port=free_port(), token_file=token_file,
                cpu_latency_limit_us=spec.cpu_latency_limit_us,
            )
            meta = dataclasses.replace(meta, **spec.meta_options)
            self._add_service(f"meta-{meta.node_id}", "fs3.meta", meta.node_id, meta.port, meta,
                              metrics_port=meta.metrics_port)
        for index in range(spec.storage_services):
            node_id = STORAGE_NODE_ID_BASE + index + 1
            targets = [
                TargetConfig(target_id=node_id * 1000 + t + 1,
                             path=str(self.data_dir / f"storage-{node_id}" / f"target-{node_id * 1000 + t + 1}"))
                for t in range(spec.targets_per_storage)
            ]
            for target in targets:
                Path(target.path).mkdir(parents=True, exist_ok=True)
            self._add_storage_service(node_id, targets, mgmtd_addresses, heartbeat_interval_s)
        self._save_state()

    def _add_storage_service(self, node_id: int, targets: list[TargetConfig], mgmtd_addresses: list[str],
                             heartbeat_interval_s: float) -> str:
        disk = self.data_dir / f"storage-{node_id}"
        disk.mkdir(parents=True, exist_ok=True)
        storage = StorageServiceConfig(
            node_id=node_id, port=free_port(), mgmtd_addresses=mgmtd_addresses, targets=targets,
            disks=[str(disk)], heartbeat_interval_s=heartbeat_interval_s, direct_io=self.spec.direct_io,
            metrics_port=free_port(), slot_file_bytes=self.spec.slot_file_bytes, token_file=str(self.token_path),
            cpu_latency_limit_us=self.spec.cpu_latency_limit_us,
        )
        name = f"storage-{node_id}"
        self._add_service(name, "fs3.storage", node_id, storage.port, storage, metrics_port=storage.metrics_port)
        return name

    def add_storage_service(self) -> str:
        """Configure and start one more storage service, with no targets (`fs3 create-targets` makes
        some on its disk, `fs3 add-node` moves chains onto them). Returns its service name."""
        storage_ids = [service.node_id for service in self.services.values() if service.module == "fs3.storage"]
        node_id = max(storage_ids, default=STORAGE_NODE_ID_BASE) + 1
        heartbeat_interval_s = min(1.0, self.spec.heartbeat_timeout_s / 5)
        name = self._add_storage_service(node_id, [], self.mgmtd_addresses, heartbeat_interval_s)
        self._save_state()
        self.start_service(name)
        return name

    def _add_service(self, name: str, module: str, node_id: int, port: int, config, *, http_port: int = 0,
                     metrics_port: int = 0) -> None:
        config_path = self.data_dir / "conf" / f"{name}.toml"
        config_path.write_text(dump_config(config))
        self.services[name] = ServiceProcess(
            name=name, module=module, node_id=node_id, port=port, config_path=str(config_path),
            log_path=str(self.data_dir / "logs" / f"{name}.log"), http_port=http_port, metrics_port=metrics_port,
        )

    # ---- processes ------------------------------------------------------------
    def start_service(self, name: str) -> None:
        service = self.services[name]
        if _pid_alive(service.pid):
            return
        environment = {**os.environ, **_SERVICE_ENVIRONMENT}
        log = open(service.log_path, "ab")
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", service.module, "--config", service.config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environment,
                start_new_session=True,
            )
        finally:
            log.close()
        self._children[name] = process
        service.pid = process.pid
        self._save_state()

    def kill_service(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to one service (tests use SIGKILL to crash it)."""
        service = self.services[name]
        if _pid_alive(service.pid):
            os.kill(service.pid, sig)
        self._reap(name, wait_s=10.0)

    def _reap(self, name: str, wait_s: float) -> None:
        service = self.services[name]
        child = self._children.pop(name, None)
        deadline = time.monotonic() + wait_s
        if child is not None:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        else:
            while _pid_alive(service.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(service.pid):
                os.kill(service.pid, signal.SIGKILL)
                while _pid_alive(service.pid):
                    time.sleep(0.02)
        service.pid = 0
        self._save_state()

    def _refresh_pids(self) -> None:
        """Another process (the CLI) may have started or added services: take them and their pids."""
        if not self.state_path.exists():
            return
        state = json.loads(self.state_path.read_text())
        for name, service in state["services"].items():
            if name not in self.services:  # added by another process (`fs3 local add-storage`)
                self.services[name] = ServiceProcess(**service)
                continue
            if service["pid"] == self.services[name].pid:
                continue
            child = self._children.get(name)
            if child is not None:
                if child.poll() is None:
                    continue  # our own child is still the live one
                del self._children[name]
            self.services[name].pid = service["pid"]

    def running(self) -> dict[str, bool]:
        self._refresh_pids()
        return {name: _pid_alive(service.pid) for name, service in self.services.items()}

    def up(self, *, timeout_s: float = 60.0) -> RoutingInfo:
        """Start every service, create the chain table on first start, wait until serving."""
        if not self.initialized:
            self._initialize()
        elif not self.token_path.exists():
            self._add_tokens_to_configs()
        for name in self.services:
            if self.services[name].module == "fs3.mgmtd":
                self.start_service(name)
        for name in self.services:
            if self.services[name].module == "fs3.storage":
                self.start_service(name)
        for name in self.services:
            if self.services[name].module == "fs3.meta":
                self.start_service(name)
        try:
            return asyncio.run(self._wait_ready(timeout_s))
        except BaseException:
            self.down()
            raise

    def down(self, *, timeout_s: float = 15.0) -> None:
        """SIGTERM every service, SIGKILL what is still there after `timeout_s`."""
        self._refresh_pids()
        for service in self.services.values():
            if _pid_alive(service.pid):
                try:
                    os.kill(service.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name in self.services:
            self._reap(name, wait_s=timeout_s)

    def restart_service(self, name: str) -> None:
        self.start_service(name)

    # ---- readiness ------------------------------------------------------------
    async def _wait_ready(self, timeout_s: float) -> RoutingInfo:
        deadline = time.monotonic() + timeout_s
        mgmtd = MgmtdClient(self.mgmtd_addresses, timeout_s=2.0, token=self.token)
        try:
            table_created = False
            last_problem = "cluster manager not reachable"
            while time.monotonic() < deadline:
                self._check_processes()
                try:
                    routing, _now_ms, _timeout_ms = await mgmtd.get_cluster_status()
                except Fs3Error as error:
                    last_problem = str(error)
                    await asyncio.sleep(0.2)
                    continue
                problem = self.readiness_problem(routing)
                if problem == "no chain table" and not table_created:
                    await mgmtd.create_chain_table(CHAIN_TABLE_ID, self.spec.replication_factor)
                    table_created = True
                    continue
                if problem is None:
                    return routing
                last_problem = problem
                await asyncio.sleep(0.2)
            raise Fs3Error(StatusCode.TIMEOUT, f"local cluster not ready after {timeout_s}s: {last_problem}")
        finally:
            await mgmtd.close()

    def _check_processes(self) -> None:
        for name, child in self._children.items():
            code = child.poll()
            if code is not None:
                raise Fs3Error(
                    StatusCode.UNAVAILABLE,
                    f"service {name} exited with code {code}; see {self.services[name].log_path}",
                )

    def readiness_problem(self, routing: RoutingInfo) -> str | None:
        """None when every service is alive and every target serving; else what is missing."""
        for service in self.services.values():
            if service.module == "fs3.mgmtd":
                continue
            node = routing.nodes.get(service.node_id)
            if node is None or not node.alive:
                return f"{service.name} not registered or not alive"
        storage_targets = self.spec.storage_services * self.spec.targets_per_storage
        if len(routing.targets) < storage_targets:
            return f"{len(routing.targets)} of {storage_targets} targets reported"
        if CHAIN_TABLE_ID not in routing.chain_tables:
            return "no chain table"
        not_serving = [  # free targets (in no chain) serve nothing, whatever their state
            t.target_id for t in routing.targets.values()
            if t.chain_id and (t.public_state != PublicState.SERVING or t.local_state != LocalState.UP_TO_DATE)
        ]
        if not_serving:
            return f"targets not serving: {not_serving}"
        return None

    async def status(self) -> tuple[RoutingInfo | None, str | None]:
        try:
            mgmtd = MgmtdClient(self.mgmtd_addresses, timeout_s=2.0, token=self.token)
        except Fs3Error as error:  # no admin.token (yet)
            return None, str(error)
        try:
            routing, _now, _timeout = await mgmtd.get_cluster_status()
        except Fs3Error as error:
            return None, str(error)
        finally:
            await mgmtd.close()
        return routing, self.readiness_problem(routing)


def node_type_name(node_type: NodeType) -> str:
    return {NodeType.MGMTD: "mgmtd", NodeType.META: "meta", NodeType.STORAGE: "storage"}.get(node_type, "client")
