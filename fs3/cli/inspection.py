"""Inspection verbs of the `fs3` command (administrators, uid 0):

    fs3 dump-inodes                 every inode of the namespace (paged from the metadata service)
    fs3 fsck                        check the namespace invariants; exit 1 on any problem
    fs3 gc [--wait]                 removed files waiting for their chunks to be deleted
    fs3 find-orphaned-chunks        chunks on storage whose file is gone (and not queued for GC);
                                    --remove deletes them through their chains

Registered on the main app by `fs3.cli.main`.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fs3._proto import meta_pb2
from fs3.cli.admin import _dump_chunk_meta, _print_rows
from fs3.cli.main import CliError, JsonOption, MgmtdOption, _with_client, app, console
from fs3.net.methods import MetaMethod

__all__ = ["dump_inodes", "fsck", "gc", "find_orphaned_chunks"]

_PAGE = 4096  # the metadata service caps pages at its inspect_page_max anyway
PANEL = "Inspection"


def _progress(transient: bool = True) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=transient)


async def _all_pages(client, method: MetaMethod, request_type, field: str) -> list:
    """Every item of a paged inspection call (DUMP_INODES / LIST_GC_QUEUE)."""
    items: list = []
    after = None
    while True:
        request = request_type(user=client.user, limit=_PAGE)
        if after is not None:
            request.after_inode_id = after
        response = await client.meta.call(method, request)
        page = list(getattr(response, field))
        items.extend(page)
        if not response.more or not page:
            return items
        after = page[-1].inode_id


@app.command("dump-inodes", rich_help_panel=PANEL)
def dump_inodes(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Every inode in the namespace: id, type, mode, owner, links, length, parent."""

    async def body(client):
        inodes = await _all_pages(client, MetaMethod.DUMP_INODES, meta_pb2.DumpInodesRequest, "inodes")
        return [{"inode_id": inode.inode_id, "type": meta_pb2.InodeType.Name(inode.inode_type).removeprefix("INODE_TYPE_").lower(),
                 "mode": oct(inode.mode), "uid": inode.uid, "gid": inode.gid, "nlink": inode.nlink,
                 "length": inode.length, "parent": inode.parent, "mtime_ns": inode.mtime_ns}
                for inode in sorted(inodes, key=lambda inode: inode.inode_id)]

    rows = _with_client(mgmtd, body)
    _print_rows(rows, ["inode_id", "type", "mode", "uid", "gid", "nlink", "length", "parent"],
                f"{len(rows)} inodes", as_json)


@app.command("fsck", rich_help_panel=PANEL)
def fsck(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Check the namespace invariants (entries, reachability, link counts, cycles, GC queue); exit 1 on problems."""

    async def body(client):
        return await client.meta.call(MetaMethod.FSCK, meta_pb2.FsckRequest(user=client.user))

    response = _with_client(mgmtd, body)
    report = {
        "inodes": response.inodes, "directories": response.directories, "files": response.files,
        "symlinks": response.symlinks, "entries": response.entries, "gc_queued": response.gc_queued,
        "sessions": response.sessions, "unlinked_open": response.unlinked_open,
        "problems_omitted": response.problems_omitted,
        "problems": [{"kind": problem.kind, "inode_id": problem.inode_id, "detail": problem.detail}
                     for problem in response.problems],
    }
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        console.print(f"{report['inodes']} inodes ({report['directories']} directories, {report['files']} files, "
                      f"{report['symlinks']} symlinks), {report['entries']} entries, {report['gc_queued']} queued "
                      f"for GC ({report['unlinked_open']} unlinked but open), {report['sessions']} write sessions: "
                      f"{len(report['problems']) + report['problems_omitted']} problems", highlight=False)
        for problem in report["problems"]:
            console.print(f"  {problem['kind']}: inode {problem['inode_id']}: {problem['detail']}",
                          markup=False, highlight=False)
    if report["problems"] or report["problems_omitted"]:
        raise typer.Exit(1)


@app.command("gc", rich_help_panel=PANEL)
def gc(
    wait: Annotated[bool, typer.Option("--wait", help="wait until the queue is empty")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="seconds --wait waits at most")] = 600.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Removed files whose chunks the metadata services' garbage collector has yet to delete."""

    async def entries(client) -> list:
        return await _all_pages(client, MetaMethod.LIST_GC_QUEUE, meta_pb2.ListGcQueueRequest, "entries")

    async def body(client):
        queued = await entries(client)
        if wait and queued:
            deadline = time.monotonic() + timeout
            waited_for = {entry.inode_id for entry in queued}  # files removed later do not prolong the wait
            with _progress() as progress:
                task = progress.add_task("garbage collection", total=len(waited_for))
                while queued:
                    if time.monotonic() > deadline:
                        raise CliError(f"{len(queued)} removed files still queued after {timeout:.0f}s")
                    await asyncio.sleep(0.5)
                    queued = [entry for entry in await entries(client) if entry.inode_id in waited_for]
                    progress.update(task, completed=len(waited_for) - len(queued))
        return [{"inode_id": entry.inode_id, "length": entry.length, "removed_at_ns": entry.removed_at_ns,
                 "claimed_by": entry.claim_owner} for entry in queued]

    rows = _with_client(mgmtd, body)
    _print_rows(rows, ["inode_id", "length", "removed_at_ns", "claimed_by"], f"{len(rows)} files queued for GC",
                as_json)


@app.command("find-orphaned-chunks", rich_help_panel=PANEL)
def find_orphaned_chunks(
    remove: Annotated[bool, typer.Option("--remove", help="delete the orphaned chunks through their chains")] = False,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chunks on storage whose inode neither exists nor waits for GC (exit 1 if any remain)."""

    async def body(client):
        routing = await client.routing.refresh()
        target_ids = sorted(routing.targets)
        chunks_by_inode: dict[int, dict[int, int]] = {}  # inode -> chain -> chunks on its targets
        chain_of_target = {target_id: chain.chain_id for chain in routing.chains.values()
                           for target_id in chain.target_ids}
        with _progress() as progress:
            task = progress.add_task("reading chunk metadata", total=len(target_ids))
            for target_id in target_ids:
                chain_id = chain_of_target.get(target_id)
                if chain_id is not None and routing.targets[target_id].node_id in routing.nodes:
                    for meta in await _dump_chunk_meta(client, target_id):
                        per_chain = chunks_by_inode.setdefault(meta.chunk.inode_id, {})
                        per_chain[chain_id] = per_chain.get(chain_id, 0) + 1
                progress.advance(task)
        inode_ids = sorted(chunks_by_inode)
        missing: list[int] = []
        for start in range(0, len(inode_ids), _PAGE):
            batch = inode_ids[start : start + _PAGE]
            response = await client.meta.call(MetaMethod.CHECK_INODES,
                                              meta_pb2.CheckInodesRequest(user=client.user, inode_ids=batch))
            missing += [inode_id for inode_id, state in zip(batch, response.states)
                        if state == meta_pb2.INODE_MISSING]
        removed = 0
        if remove and missing:
            from fs3.meta.components.chunk_remover import ChunkRemover

            remover = ChunkRemover(client.rpc, lambda: client.routing.routing, client.routing.refresh)
            for inode_id in missing:
                removed += await remover.remove_on_chains(sorted(chunks_by_inode[inode_id]), inode_id)
        return [{"inode_id": inode_id, "chunks": sum(chunks_by_inode[inode_id].values()),
                 "chains": sorted(chunks_by_inode[inode_id]), "removed": remove}
                for inode_id in missing], removed

    rows, removed = _with_client(mgmtd, body)
    _print_rows(rows, ["inode_id", "chunks", "chains"], f"{len(rows)} inodes with orphaned chunks"
                + (f" ({removed} chunks removed at the chain heads)" if remove else ""), as_json)
    if rows and not remove:
        raise typer.Exit(1)
