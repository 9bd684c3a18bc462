"""Prometheus metrics of one process, and the endpoint that serves them.

Every service exposes `/metrics` on its `metrics_port` (0 turns it off). The
RPC server counts calls and times them per method; services add their own
counters (bytes read and written by storage, for example).
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

__all__ = [
    "RPC_CALLS",
    "RPC_SECONDS",
    "STORAGE_BYTES",
    "CLUSTER_NODES",
    "CLUSTER_TARGETS",
    "start_metrics_endpoint",
]

logger = logging.getLogger(__name__)

RPC_CALLS = Counter("fs3_rpc_calls", "Framed RPC calls served", ["service", "method", "status"])
RPC_SECONDS = Histogram(
    "fs3_rpc_seconds", "Framed RPC handling time", ["service", "method"],
    buckets=(0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0, 5.0),
)
STORAGE_BYTES = Counter("fs3_storage_bytes", "Chunk payload bytes moved by a storage service", ["direction"])
SHARED_MEMORY_BYTES = Counter("fs3_shared_memory_bytes",
                              "Chunk payload bytes a storage service moved through clients' shared memory", ["direction"])
SHARED_MEMORY_REGIONS = Gauge("fs3_shared_memory_regions", "Client memory regions registered with a storage service")
CLUSTER_NODES = Gauge("fs3_cluster_nodes", "Registered nodes by type and liveness", ["node_type", "alive"])
CLUSTER_TARGETS = Gauge("fs3_cluster_targets", "Storage targets by public state", ["public_state"])


def start_metrics_endpoint(host: str, port: int) -> int:
    """Serve /metrics on host:port in a background thread; returns the port (0 = off)."""
    if port <= 0:
        return 0
    server, _thread = start_http_server(port, addr=host)
    logger.info("metrics on http://%s:%d/metrics", host, port)
    return server.server_port
