"""The cluster manager process: `python -m fs3.mgmtd --config mgmtd.toml`."""

from __future__ import annotations

import asyncio
import logging
import os

import grpc

from fs3._proto import mgmtd_pb2_grpc, users_pb2_grpc
from fs3.config import MgmtdConfig
from fs3.kv import open_engine
from fs3.errors import Fs3Error, StatusCode
from fs3.hot_config import HotConfig
from fs3.mgmtd.auth import TokenInterceptor
from fs3.mgmtd.http_api import AdminHttpServer, build_admin_app
from fs3.mgmtd.lease import PrimaryLease
from fs3.mgmtd.manager import ClusterManager
from fs3.mgmtd.service import ClusterManagerService
from fs3.routing import NodeType
from fs3.mgmtd.user_service import UsersService
from fs3.mgmtd.users import UserStore
from fs3.service_runner import service_main
from fs3.tokens import read_token_file

logger = logging.getLogger(__name__)


class MgmtdServer:
    """One cluster-manager instance; it acts only while it holds the primary lease."""

    def __init__(self, config: MgmtdConfig) -> None:
        self.config = config
        self.hot_config = HotConfig(config)  # the primary applies the distributed mgmtd settings itself
        self._refused_config_version = 0
        self._server: grpc.aio.Server | None = None
        self._tasks: list[asyncio.Task] = []
        self._updater: asyncio.Task | None = None
        self.engine = None
        self.lease: PrimaryLease | None = None
        self.manager: ClusterManager | None = None
        self._http: AdminHttpServer | None = None

    def _primary(self) -> ClusterManager:
        if self.manager is None or self.lease is None or not self.lease.is_primary():
            holder = self.lease.holder if self.lease is not None else None
            hint = f"; primary is node {holder.node_id} at {holder.address}" if holder is not None else ""
            raise Fs3Error(StatusCode.NOT_PRIMARY, f"cluster manager {self.config.node_id} is not primary{hint}")
        return self.manager

    def _primary_users(self) -> UserStore:
        return self._primary().users

    async def start(self) -> None:
        os.makedirs(self.config.data_dir, exist_ok=True)
        kv_url = self.config.kv_url or f"sqlite://{os.path.abspath(self.config.data_dir)}/mgmtd.kv"
        self.engine = open_engine(kv_url)
        address = f"{self.config.host}:{self.config.port}"
        self.lease = PrimaryLease(self.engine, self.config.node_id, address, self.config.primary_lease_s)
        self._server = grpc.aio.server(interceptors=[TokenInterceptor(self._primary_users)])
        mgmtd_pb2_grpc.add_ClusterManagerServicer_to_server(ClusterManagerService(self._primary), self._server)
        users_pb2_grpc.add_UsersServicer_to_server(UsersService(self._primary_users), self._server)
        self._server.add_insecure_port(address)
        await self._server.start()
        await self._lease_round()
        self._tasks.append(asyncio.get_running_loop().create_task(self._keep_lease()))
        if self.config.http_port:
            self._http = AdminHttpServer(build_admin_app(self._primary, self.lease, self.config.node_id),
                                         self.config.host, self.config.http_port)
            await self._http.start()
        logger.info("cluster manager %d listening on %s (%s)", self.config.node_id, address,
                    "primary" if self.lease.is_primary() else "secondary")

    async def _keep_lease(self) -> None:
        interval_s = self.config.primary_lease_s / 3
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self._lease_round()
            except Exception:
                logger.exception("lease round failed")

    async def _lease_round(self) -> None:
        assert self.lease is not None and self.engine is not None
        was_primary = self.manager is not None
        is_primary = await self.lease.try_acquire()
        if is_primary and not was_primary:
            # A new term: start from exactly what the previous primary persisted.
            manager = ClusterManager(self.hot_config.base, self.engine, fence=self.lease.fence)
            await manager.load()
            self._apply_distributed_config(manager)
            await self._bootstrap_users(manager.users)
            self.manager = manager
            self._updater = asyncio.get_running_loop().create_task(self._update_states(manager))
            logger.warning("cluster manager %d is primary (term %d)", self.config.node_id, self.lease.term)
        elif not is_primary and was_primary:
            self._stop_acting()
            logger.warning("cluster manager %d lost the primary lease", self.config.node_id)

    async def _bootstrap_users(self, users: UserStore) -> None:
        """With no users yet, create `root` from the bootstrap token file, so someone can log in."""
        if users.records():
            return
        if not self.config.bootstrap_token_file:
            logger.error("no users and no bootstrap_token_file: nobody can call this cluster manager")
            return
        token = await asyncio.to_thread(read_token_file, self.config.bootstrap_token_file)
        await users.bootstrap(token)

    def _stop_acting(self) -> None:
        if self._updater is not None:
            self._updater.cancel()
            self._updater = None
        self.manager = None

    async def _update_states(self, manager: ClusterManager) -> None:
        while True:
            await asyncio.sleep(self.config.state_update_interval_s)
            if self.lease is None or not self.lease.is_primary():
                continue
            try:
                self._apply_distributed_config(manager)
                await manager.update_target_states()
            except Fs3Error as error:
                logger.warning("target state update refused: %s", error)
            except Exception:
                logger.exception("target state update failed")

    def _apply_distributed_config(self, manager: ClusterManager) -> None:
        """Apply the mgmtd config document (`fs3 set-config --type mgmtd`) if it changed."""
        record = manager.configs.latest(NodeType.MGMTD)
        if record.version in (self.hot_config.version, self._refused_config_version):
            manager.config = self.hot_config.current
            return
        try:
            self.hot_config.apply(record.version, record.content)
        except Fs3Error as error:
            logger.error("distributed mgmtd config version %d not applied: %s", record.version, error)
            self._refused_config_version = record.version
            return
        self.config = manager.config = self.hot_config.current

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop()
        for task in self._tasks:
            task.cancel()
        self._stop_acting()
        if self._server is not None:
            await self._server.stop(grace=1.0)
        if self.engine is not None:
            await self.engine.close()


def main() -> int:
    return service_main("fs3 cluster manager", MgmtdConfig, MgmtdServer, "mgmtd")


if __name__ == "__main__":
    raise SystemExit(main())
