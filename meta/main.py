"""The metadata service process: `python -m fs3.meta --config meta.toml`.

Stateless: all state is in the KV store, so any number of these serve one
namespace, and any of them answers any request.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging

from fs3.config import MetaServiceConfig, load_config
from fs3.kv import open_engine
from fs3.meta.config import MetaConfig
from fs3.meta.format import format_namespace
from fs3.meta.operator import MetaOperator
from fs3.meta.service import register_meta_service
from fs3.meta.types import Layout
from fs3.metrics import start_metrics_endpoint
from fs3.mgmtd.agent import NodeAgent
from fs3.mgmtd.client import MgmtdClient
from fs3.net.server import RpcServer, ServerConfig
from fs3.routing import NodeType
from fs3.service_runner import run_service, setup_logging

logger = logging.getLogger(__name__)


class MetaServer:
    def __init__(self, config: MetaServiceConfig) -> None:
        self.config = config
        self.engine = None
        self.server = RpcServer(
            ServerConfig(inflight_requests_max=config.inflight_requests_max, payload_buffer_count=0),
            name=f"meta-{config.node_id}",
        )
        self.agent: NodeAgent | None = None

    async def start(self) -> None:
        self.engine = open_engine(self.config.kv_url)
        layout = Layout(
            chain_table_id=self.config.default_chain_table_id, chain_table_version=1,
            chunk_size=self.config.default_chunk_size_bytes, stripe_size=self.config.default_stripe_size,
        )
        await format_namespace(self.engine, layout)
        operator = MetaOperator(self.engine, config=dataclasses.replace(MetaConfig(), default_layout=layout,
                                                                      op_deadline_s=self.config.rpc_timeout_s))
        register_meta_service(self.server, operator)
        port = await self.server.start(self.config.host, self.config.port)
        metrics_port = start_metrics_endpoint(self.config.host, self.config.metrics_port)
        self.agent = NodeAgent(
            MgmtdClient(self.config.mgmtd_addresses), self.config.node_id, NodeType.META, self.config.host, port,
            heartbeat_interval_s=self.config.heartbeat_interval_s, metrics_port=metrics_port,
        )
        await self.agent.start()
        logger.info("metadata service %d listening on port %d", self.config.node_id, port)

    async def stop(self) -> None:
        await self.server.stop()
        if self.agent is not None:
            await self.agent.stop()
        if self.engine is not None:
            await self.engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="fs3 metadata service")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    config = load_config(MetaServiceConfig, args.config)
    setup_logging(config.log_level, f"meta-{config.node_id}")
    return run_service(MetaServer(config))


if __name__ == "__main__":
    raise SystemExit(main())
