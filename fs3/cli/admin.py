"""Admin verbs of the `fs3` command: cluster state and chunk inspection.

    fs3 nodes | targets | chains | chain-tables     what the cluster manager knows
    fs3 query-chunk PATH INDEX                      one chunk on every replica
    fs3 dump-chunkmeta TARGET                       every chunk of one target

Human tables by default, `--json` for scripts. Registered on the main app by
`fs3.cli.main`.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from fs3._proto import storage_pb2
from fs3.cli.main import JsonOption, MgmtdOption, _client, _mgmtd_addresses, _run, app, console
from fs3.errors import Fs3Error, StatusCode
from fs3.net.methods import StorageMethod
from fs3.storage.chunk_meta_dump import dump_target_chunk_meta


__all__ = ["nodes", "targets", "chains", "chain_tables", "query_chunk", "dump_chunkmeta", "verify_chain"]


def _target_rpc(client, target_id: int):
    """The RPC client of the storage node holding `target_id`."""
    routing = client.routing.routing
    target = routing.targets.get(target_id)
    if target is None:
        raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} does not exist")
    node = routing.nodes[target.node_id]
    return client.rpc.get(node.host, node.port)


async def _dump_chunk_meta(client, target_id: int) -> list:
    """Every chunk's metadata on one target (protobuf ChunkMeta messages)."""
    return await dump_target_chunk_meta(_target_rpc(client, target_id), target_id)


async def _cluster_routing(mgmtd: str | None):
    from fs3.mgmtd.client import MgmtdClient

    client = MgmtdClient(_mgmtd_addresses(mgmtd))
    try:
        routing, _now_ms, _timeout_ms = await client.get_cluster_status()
        return routing
    finally:
        await client.close()


def _print_rows(rows: list[dict], columns: list[str], title: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[column]) for column in columns))
    console.print(table)


@app.command("nodes", rich_help_panel="Cluster")
def nodes(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Registered nodes and whether they are alive."""
    routing = _run(_cluster_routing(mgmtd))
    rows = [
        {"node_id": node.node_id, "type": node.node_type.name.lower(), "address": node.address,
         "hostname": node.hostname, "pid": node.pid, "alive": node.alive, "config_version": node.config_version}
        for node in sorted(routing.nodes.values(), key=lambda node: node.node_id)
    ]
    _print_rows(rows, ["node_id", "type", "address", "hostname", "pid", "alive", "config_version"], "nodes", as_json)


@app.command("targets", rich_help_panel="Placement")
def targets(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Storage targets with their chain, states and space."""
    routing = _run(_cluster_routing(mgmtd))
    rows = [
        {"target_id": target.target_id, "node_id": target.node_id, "chain_id": target.chain_id,
         "public_state": target.public_state.name.lower(), "local_state": target.local_state.name.lower(),
         "chunk_count": target.chunk_count, "used_bytes": target.used_bytes, "path": target.path,
         "admin_offline": target.admin_offline}
        for target in sorted(routing.targets.values(), key=lambda target: target.target_id)
    ]
    _print_rows(rows, ["target_id", "node_id", "chain_id", "public_state", "local_state", "chunk_count",
                       "used_bytes"], "targets", as_json)


@app.command("chains", rich_help_panel="Placement")
def chains(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Chains: version and targets, head first, with each target's public state."""
    routing = _run(_cluster_routing(mgmtd))
    rows = []
    for chain in sorted(routing.chains.values(), key=lambda chain: chain.chain_id):
        members = [
            f"{target_id}:{routing.targets[target_id].public_state.name.lower()}"
            if target_id in routing.targets else f"{target_id}:unknown"
            for target_id in chain.target_ids
        ]
        rows.append({"chain_id": chain.chain_id, "chain_version": chain.chain_version,
                     "targets": chain.target_ids if as_json else " -> ".join(members)})
    _print_rows(rows, ["chain_id", "chain_version", "targets"], "chains", as_json)


@app.command("chain-tables", rich_help_panel="Placement")
def chain_tables(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Chain tables and the chains in each."""
    routing = _run(_cluster_routing(mgmtd))
    rows = [
        {"table_id": table.table_id, "table_version": table.table_version, "chains": table.chain_ids}
        for table in sorted(routing.chain_tables.values(), key=lambda table: table.table_id)
    ]
    _print_rows(rows, ["table_id", "table_version", "chains"], "chain tables", as_json)


@app.command("query-chunk", rich_help_panel="Inspection")
def query_chunk(
    path: str,
    index: Annotated[int, typer.Argument(help="chunk index in the file")],
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """One chunk of a file on every replica: versions, length, checksum."""

    async def main():
        client = await _client(mgmtd)
        try:
            stat = await client.stat(path)
            if stat.layout is None:
                raise Fs3Error(StatusCode.BAD_REQUEST, f"{path} has no chunks (not a file)")
            routing = client.routing.routing
            chain_id = stat.layout.chain_of_chunk(routing, index)
            rows = []
            for target_id in routing.chains[chain_id].target_ids:
                row = {"target_id": target_id, "chain_id": chain_id,
                       "public_state": routing.targets[target_id].public_state.name.lower()}
                try:
                    reply = await _target_rpc(client, target_id).call(
                        StorageMethod.QUERY_CHUNK,
                        storage_pb2.QueryChunkRequest(
                            chain_id=chain_id, target_id=target_id,
                            chunk=storage_pb2.ChunkId(inode_id=stat.inode_id, chunk_index=index)),
                        storage_pb2.QueryChunkResponse, timeout_s=5,
                    )
                    meta = reply.message.meta
                    row.update(exists=reply.message.exists, committed_version=meta.committed_version,
                               pending_version=meta.pending_version, chain_version=meta.chain_version,
                               length=meta.length, crc32c=f"{meta.crc32c:08x}")
                except Fs3Error as error:
                    row.update(exists=None, error=str(error))
                rows.append(row)
            return rows
        finally:
            await client.close()

    rows = _run(main())
    _print_rows(rows, ["target_id", "public_state", "exists", "committed_version", "pending_version",
                       "chain_version", "length", "crc32c"] if all("error" not in row for row in rows)
                else list(rows[0].keys()), f"{path} chunk {index}", as_json)


@app.command("dump-chunkmeta", rich_help_panel="Inspection")
def dump_chunkmeta(
    target_id: Annotated[int, typer.Argument(help="storage target id")],
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every chunk's metadata on one target."""

    async def main():
        client = await _client(mgmtd)
        try:
            return [
                {"inode_id": meta.chunk.inode_id, "chunk_index": meta.chunk.chunk_index,
                 "committed_version": meta.committed_version, "pending_version": meta.pending_version,
                 "chain_version": meta.chain_version, "length": meta.length, "crc32c": f"{meta.crc32c:08x}"}
                for meta in await _dump_chunk_meta(client, target_id)
            ]
        finally:
            await client.close()

    rows = _run(main())
    _print_rows(rows, ["inode_id", "chunk_index", "committed_version", "pending_version", "chain_version",
                       "length", "crc32c"], f"target {target_id}", as_json)


@app.command("verify-chain", rich_help_panel="Inspection")
def verify_chain(
    chain_id: Annotated[int, typer.Argument(help="chain id (see `fs3 chains`)")],
    read: Annotated[bool, typer.Option("--read", help="also read every chunk on every replica (checks its CRC32C)")] = False,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare every chunk's version, length and checksum across the replicas of a chain; exit 1 on any difference."""

    async def main():
        client = await _client(mgmtd)
        try:
            routing = client.routing.routing
            chain = routing.chains.get(chain_id)
            if chain is None:
                raise Fs3Error(StatusCode.UNKNOWN_CHAIN, f"chain {chain_id} does not exist")
            replicas: dict[int, dict[tuple[int, int], tuple]] = {}
            for target_id in chain.target_ids:
                replicas[target_id] = {
                    (meta.chunk.inode_id, meta.chunk.chunk_index): (meta.committed_version, meta.length, meta.crc32c)
                    for meta in await _dump_chunk_meta(client, target_id)
                }
            chunks = sorted(set().union(*(set(found) for found in replicas.values())))
            problems = []
            largest_bytes = max((length for found in replicas.values() for _version, length, _crc in found.values()),
                                default=0)
            buffer = memoryview(bytearray(largest_bytes)) if read else None
            for chunk in chunks:
                seen = {target_id: found.get(chunk) for target_id, found in replicas.items()}
                if len({value for value in seen.values()}) != 1:
                    problems.append({"chunk": list(chunk), "replicas": {str(t): v for t, v in seen.items()}})
                    continue
                if read:
                    for target_id in chain.target_ids:
                        length = seen[target_id][1]
                        try:
                            await client.storage.read_from_target(
                                routing, chain_id, chain.chain_version, routing.targets[target_id], chunk[0],
                                chunk[1], 0, length, buffer, relaxed=True)
                        except Fs3Error as error:
                            problems.append({"chunk": list(chunk), "target_id": target_id, "error": str(error)})
            return {"chain_id": chain_id, "targets": chain.target_ids, "chunks": len(chunks), "problems": problems}
        finally:
            await client.close()

    report = _run(main())
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        console.print(f"chain {chain_id}: {report['chunks']} chunks on targets {report['targets']}: "
                      f"{len(report['problems'])} problems", markup=False, highlight=False)
        for problem in report["problems"][:50]:
            console.print(f"  {problem}", markup=False, highlight=False)
    if report["problems"]:
        raise typer.Exit(1)
