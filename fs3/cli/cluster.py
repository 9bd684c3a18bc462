"""Cluster verbs of the `fs3` command: the whole cluster at a glance, and its clients.

    fs3 status [--json]       nodes, targets, chains, chain moves, config versions; exit 1 unless healthy
    fs3 clients [--json]      clients the metadata services know, with their open write sessions
    fs3 local add-storage     one more storage service in the local cluster (no targets yet)

(`fs3 init`, `fs3 nodes` live in `main.py` / `admin.py`.)
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from typing import Annotated

import typer

from fs3._proto import common_pb2, meta_pb2
from fs3.cli.admin import _print_rows
from fs3.cli.admin_session import AdminSession
from fs3.cli.main import (
    DEFAULT_LOCAL_DIR, DataDirOption, JsonOption, MgmtdOption, _fail, _mgmtd_addresses, _run, app, console,
    local_app,
)
from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.client import ClusterStatus
from fs3.net.methods import MetaMethod
from fs3.routing import LocalState, NodeType, PublicState

__all__ = ["status", "clients", "local_add_storage", "status_document"]

PANEL = "Cluster"


def status_document(status: ClusterStatus) -> dict:
    """What `fs3 status --json` prints; `healthy` is every node alive and every chained target serving."""
    routing = status.routing
    nodes = {}
    for node_type in (NodeType.META, NodeType.STORAGE):
        members = routing.nodes_of_type(node_type)
        nodes[node_type.name.lower()] = {"alive": sum(node.alive for node in members), "total": len(members),
                                         "dead": [node.node_id for node in members if not node.alive]}
    chained = [target for target in routing.targets.values() if target.chain_id]
    degraded = []
    for chain in sorted(routing.chains.values(), key=lambda chain: chain.chain_id):
        members = [routing.targets.get(target_id) for target_id in chain.target_ids]
        if any(member is None or member.public_state != PublicState.SERVING
               or member.local_state != LocalState.UP_TO_DATE for member in members):
            degraded.append(chain.chain_id)
    configs = {}
    for record in status.configs:
        members = routing.nodes_of_type(record.node_type)
        configs[record.node_type.name.lower()] = {
            "version": record.version,
            "nodes_applied": sum(node.config_version == record.version for node in members if node.alive),
            "nodes_alive": sum(node.alive for node in members),
        }
    healthy = not degraded and all(not group["dead"] for group in nodes.values())
    return {
        "healthy": healthy,
        "routing_version": routing.routing_version,
        "heartbeat_timeout_s": status.heartbeat_timeout_ms / 1000,
        "nodes": nodes,
        "targets": {
            "total": len(routing.targets),
            "free": sum(1 for t in routing.targets.values() if not t.chain_id and not t.admin_offline),
            "offline_by_operator": sorted(t.target_id for t in routing.targets.values() if t.admin_offline),
            "public_states": dict(sorted(Counter(t.public_state.name.lower() for t in chained).items())),
        },
        "chains": {"total": len(routing.chains), "degraded": degraded},
        "chain_tables": {str(table.table_id): {"version": table.table_version, "chains": len(table.chain_ids)}
                         for table in routing.chain_tables.values()},
        "chain_moves": [{"chain_id": m.chain_id, "from_target_id": m.from_target_id, "to_target_id": m.to_target_id,
                         "to_state": routing.targets[m.to_target_id].public_state.name.lower()
                         if m.to_target_id in routing.targets else "unknown"} for m in status.migrations],
        "configs": configs,
    }


@app.command("status", rich_help_panel=PANEL)
def status(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """The cluster at a glance; exit 1 unless every node is alive and every chain fully serving."""

    async def main():
        async with AdminSession(_mgmtd_addresses(mgmtd)) as session:
            return await session.status()

    document = status_document(_run(main()))
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        lines = [f"routing version {document['routing_version']}, heartbeat timeout "
                 f"{document['heartbeat_timeout_s']:g}s"]
        for kind, group in document["nodes"].items():
            dead = f" (dead: {group['dead']})" if group["dead"] else ""
            lines.append(f"{kind} nodes: {group['alive']}/{group['total']} alive{dead}")
        targets = document["targets"]
        lines.append(f"targets: {targets['total']} ({targets['free']} free); in chains: "
                     + (", ".join(f"{count} {state}" for state, count in targets["public_states"].items()) or "none")
                     + (f"; offline by an operator: {targets['offline_by_operator']}"
                        if targets["offline_by_operator"] else ""))
        chains = document["chains"]
        lines.append(f"chains: {chains['total']}" + (f", degraded: {chains['degraded']}" if chains["degraded"] else
                                                     ", all serving"))
        for table_id, table in document["chain_tables"].items():
            lines.append(f"chain table {table_id}: version {table['version']}, {table['chains']} chains")
        for move in document["chain_moves"]:
            lines.append(f"moving chain {move['chain_id']}: target {move['from_target_id']} -> "
                         f"{move['to_target_id']} ({move['to_state']})")
        for kind, config in document["configs"].items():
            lines.append(f"{kind} config version {config['version']}: applied by {config['nodes_applied']}/"
                         f"{config['nodes_alive']} live nodes" if kind != "mgmtd" else
                         f"mgmtd config version {config['version']}")
        lines.append("healthy" if document["healthy"] else "NOT healthy")
        console.print("\n".join(lines), markup=False, highlight=False)
    if not document["healthy"]:
        raise typer.Exit(1)


@app.command("clients", rich_help_panel=PANEL)
def clients(
    limit: Annotated[int, typer.Option(help="most clients listed (0: the service's bound)")] = 0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Clients the metadata services know (seen opening files for writing or heartbeating), with their
    open write sessions; a client silent for the session timeout is pruned with its sessions."""

    async def main():
        async with AdminSession(_mgmtd_addresses(mgmtd)) as session:
            routing = await session.routing()
            metas = [node for node in routing.nodes_of_type(NodeType.META) if node.alive]
            if not metas:
                raise Fs3Error(StatusCode.UNAVAILABLE, "no metadata service is alive")
            request = meta_pb2.ListClientsRequest(user=common_pb2.UserInfo(uid=os.getuid(), gid=os.getgid()),
                                                  limit=limit)
            last_error = None
            for node in metas:  # any metadata service answers: they share one store
                try:
                    return await session.call_node(node, MetaMethod.LIST_CLIENTS, request,
                                                   meta_pb2.ListClientsResponse)
                except Fs3Error as error:
                    if error.code not in (StatusCode.UNAVAILABLE, StatusCode.TIMEOUT):
                        raise
                    last_error = error
            raise last_error

    reply = _run(main())
    now_ns = time.time_ns()
    rows = [{"client_id": client.client_id, "last_seen_ns": client.last_seen_ns,
             "seconds_ago": round(max(0, now_ns - client.last_seen_ns) / 1e9, 1),
             "write_sessions": client.write_sessions} for client in reply.clients]
    if as_json:
        print(json.dumps({"clients": rows, "truncated": reply.truncated}, indent=2))
        return
    _print_rows(rows, ["client_id", "seconds_ago", "write_sessions"], "clients", False)
    if reply.truncated:
        console.print("(more clients or sessions than one listing counts)")


@local_app.command("add-storage")
def local_add_storage(data_dir: DataDirOption = DEFAULT_LOCAL_DIR, as_json: JsonOption = False) -> None:
    """Start one more storage service in the local cluster, with an empty disk and no targets
    (then `fs3 create-targets --node N` and `fs3 add-node N`)."""
    from fs3.local.cluster import LocalCluster

    cluster = LocalCluster(data_dir)
    if not cluster.initialized:
        _fail(f"no local cluster in {data_dir}")
    name = cluster.add_storage_service()
    service = cluster.services[name]
    disk = str(cluster.data_dir / name)
    if as_json:
        print(json.dumps({"name": name, "node_id": service.node_id, "pid": service.pid, "disk": disk}))
    else:
        console.print(f"started {name} (node {service.node_id}, pid {service.pid}) with disk {disk}",
                      markup=False, highlight=False)
