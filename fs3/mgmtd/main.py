"""The cluster manager process: `python -m fs3.mgmtd --config mgmtd.toml`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

import grpc

from fs3._proto import mgmtd_pb2_grpc
from fs3.config import MgmtdConfig, load_config
from fs3.kv import open_engine
from fs3.mgmtd.manager import ClusterManager
from fs3.mgmtd.service import ClusterManagerService
from fs3.service_runner import run_service, setup_logging

logger = logging.getLogger(__name__)


class MgmtdServer:
    def __init__(self, config: MgmtdConfig) -> None:
        self.config = config
        self._server: grpc.aio.Server | None = None
        self._updater: asyncio.Task | None = None
        self.engine = None
        self.manager: ClusterManager | None = None

    async def start(self) -> None:
        os.makedirs(self.config.data_dir, exist_ok=True)
        kv_url = self.config.kv_url or f"sqlite://{os.path.abspath(self.config.data_dir)}/mgmtd.kv"
        self.engine = open_engine(kv_url)
        self.manager = ClusterManager(self.config, self.engine)
        await self.manager.load()
        self._server = grpc.aio.server()
        mgmtd_pb2_grpc.add_ClusterManagerServicer_to_server(ClusterManagerService(self.manager), self._server)
        self._server.add_insecure_port(f"{self.config.host}:{self.config.port}")
        await self._server.start()
        self._updater = asyncio.get_running_loop().create_task(self._update_states())
        logger.info("cluster manager %d listening on %s:%d", self.config.node_id, self.config.host, self.config.port)

    async def _update_states(self) -> None:
        assert self.manager is not None
        while True:
            await asyncio.sleep(self.config.state_update_interval_s)
            try:
                await self.manager.update_target_states()
            except Exception:
                logger.exception("target state update failed")

    async def stop(self) -> None:
        if self._updater is not None:
            self._updater.cancel()
        if self._server is not None:
            await self._server.stop(grace=1.0)
        if self.engine is not None:
            await self.engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="fs3 cluster manager")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    config = load_config(MgmtdConfig, args.config)
    setup_logging(config.log_level, f"mgmtd-{config.node_id}")
    return run_service(MgmtdServer(config))


if __name__ == "__main__":
    raise SystemExit(main())
