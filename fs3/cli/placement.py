"""Placement verbs of the `fs3` command: targets, chains, chain tables, disk replacement, new nodes.

    fs3 create-targets --node N [--disk D] --count T     new empty targets on a storage node's disk
    fs3 offline-target TARGET [--force]                   take a target out of its chain (it stops serving)
    fs3 online-target TARGET [--wait]                     bring it back: it recovers from its chain
    fs3 replace-target TARGET [--wait]                    offline, empty (a new disk), recover
    fs3 replace-disk --node N --disk PATH [--wait]        the same for every target on one disk
    fs3 move-chain CHAIN --from OLD --to NEW [--wait]     NEW joins, recovers, then OLD leaves
    fs3 add-node NODE [--wait]                            move chains onto a storage node's free targets
    fs3 generate-chains --replication R [--output F]     chains for the free targets (CSV)
    fs3 upload-chains FILE / upload-chain-table ID FILE   install chains and a chain table

The cluster manager does the chain changes (`fs3.mgmtd.target_admin`), the
storage services create and empty targets (`fs3.storage.target_admin`).
Human tables by default, `--json` for scripts; progress bars go to stderr.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from typing import Annotated, Optional

import typer

from fs3._proto import storage_pb2
from fs3.cli.admin import _print_rows
from fs3.cli.admin_session import AdminSession, wait_until_serving
from fs3.cli.main import (
    CliError, JsonOption, MgmtdOption, _fail, _mgmtd_addresses, _run, app, console, error_console,
)
from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.placement import generate_chains, head_counts, recovery_read_load, select_slots, slots_by_disk
from fs3.net.methods import StorageMethod
from fs3.routing import ChainInfo, PublicState, RoutingInfo

__all__ = [
    "create_targets", "offline_target", "online_target", "replace_target", "replace_disk", "move_chain",
    "add_node", "generate_chains_command", "upload_chains", "upload_chain_table", "parse_chain_rows",
]

PANEL = "Placement"
WaitOption = Annotated[bool, typer.Option("--wait", help="follow recovery until every target serves")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="seconds --wait waits before failing")]
TARGET_IDS_PER_NODE = 1000  # default target ids: node_id * 1000 + 1, + 2, ... (as `fs3 local` numbers them)


def _session(mgmtd: str | None) -> AdminSession:
    return AdminSession(_mgmtd_addresses(mgmtd))


def _chain_json(chain: ChainInfo | None, routing: RoutingInfo | None = None) -> dict | None:
    if chain is None:
        return None
    document = {"chain_id": chain.chain_id, "chain_version": chain.chain_version, "targets": chain.target_ids}
    if routing is not None:
        document["states"] = {str(target_id): routing.targets[target_id].public_state.name.lower()
                              for target_id in chain.target_ids if target_id in routing.targets}
    return document


def _members_text(chain: ChainInfo, routing: RoutingInfo) -> str:
    return " -> ".join(f"{target_id}:{routing.targets[target_id].public_state.name.lower()}"
                       if target_id in routing.targets else str(target_id) for target_id in chain.target_ids)


def _chain_text(chain: ChainInfo | None, routing: RoutingInfo) -> str:
    if chain is None:
        return "in no chain"
    return f"chain {chain.chain_id} v{chain.chain_version}: {_members_text(chain, routing)}"


def _print(document, text: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        console.print(text, markup=False, highlight=False)


# ---- targets --------------------------------------------------------------------------
@app.command("create-targets", rich_help_panel=PANEL)
def create_targets(
    node: Annotated[int, typer.Option("--node", help="storage node id")],
    count: Annotated[int, typer.Option("--count", help="how many targets")] = 1,
    disk: Annotated[str, typer.Option("--disk", help="one of the node's disks: its path or index")] = "0",
    first_id: Annotated[int, typer.Option("--first-id", help="ids FIRST..FIRST+COUNT-1 (default: the first "
                                                             "unused ids from node*1000+1)")] = 0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create empty targets on a storage node's disk; they join the free targets (see add-node, init)."""
    if not 1 <= count <= TARGET_IDS_PER_NODE - 1:
        raise typer.BadParameter(f"--count must be 1..{TARGET_IDS_PER_NODE - 1}")

    async def main():
        async with _session(mgmtd) as session:
            routing = await session.routing()
            storage = session.storage_node(routing, node)
            if not storage.alive:
                raise Fs3Error(StatusCode.UNAVAILABLE, f"storage node {node} is not alive")
            if first_id:
                ids = list(range(first_id, first_id + count))
                taken = sorted(set(ids) & set(routing.targets))
                if taken:
                    raise Fs3Error(errno.EEXIST, f"target ids {taken} are in use")
            else:
                ids, candidate = [], node * TARGET_IDS_PER_NODE + 1
                for _attempt in range(count + len(routing.targets)):
                    if len(ids) == count:
                        break
                    if candidate not in routing.targets:
                        ids.append(candidate)
                    candidate += 1
            created = []
            for target_id in ids:
                reply = await session.call_node(storage, StorageMethod.CREATE_TARGET, storage_pb2.CreateTargetRequest(
                    target_id=target_id, disk=disk), storage_pb2.CreateTargetResponse)
                created.append({"target_id": reply.target_id, "node_id": node, "path": reply.path})
                error_console.print(f"created target {reply.target_id} in {reply.path}", markup=False,
                                    highlight=False)
            await wait_until_serving(session, ids, timeout_s=30.0, console=error_console)  # reported by heartbeat
            return created

    rows = _run(main())
    _print_rows(rows, ["target_id", "node_id", "path"], "created targets", as_json)


@app.command("offline-target", rich_help_panel=PANEL)
def offline_target(
    target_id: Annotated[int, typer.Argument(help="target id (see `fs3 targets`)")],
    force: Annotated[bool, typer.Option("--force", help="even the last serving target of its chain")] = False,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take a target out of service: it moves to its chain's end as offline, its storage stops serving it."""

    async def main():
        async with _session(mgmtd) as session:
            chain = await session.mgmtd.offline_target(target_id, force=force)
            return chain, await session.routing()

    chain, routing = _run(main())
    _print({"target_id": target_id, "admin_offline": True, "chain": _chain_json(chain, routing)},
           f"target {target_id} is offline; {_chain_text(chain, routing)}", as_json)


@app.command("online-target", rich_help_panel=PANEL)
def online_target(
    target_id: Annotated[int, typer.Argument(help="target id (see `fs3 targets`)")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 600.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring an offlined target back; it recovers what it missed from its chain, then serves."""

    async def main():
        async with _session(mgmtd) as session:
            chain = await session.mgmtd.online_target(target_id)
            if wait:
                await wait_until_serving(session, [target_id], timeout_s=timeout, console=error_console)
            return chain, await session.routing()

    chain, routing = _run(main())
    _print({"target_id": target_id, "admin_offline": False, "chain": _chain_json(chain, routing)},
           f"target {target_id} is back; {_chain_text(chain, routing)}", as_json)


async def _replace_targets(session: AdminSession, target_ids: list[int]) -> list[dict]:
    """Offline (if not yet), empty on their storage nodes, bring back: each then recovers from its chain."""
    routing = await session.routing()
    for target_id in target_ids:
        if target_id not in routing.targets:
            raise Fs3Error(StatusCode.UNKNOWN_TARGET, f"target {target_id} does not exist")
    replacing = set(target_ids)
    for target_id in target_ids:  # refuse before changing anything if a chain would lose its last serving replica
        chain = routing.chains.get(routing.targets[target_id].chain_id)
        if chain is None or routing.targets[target_id].public_state == PublicState.OFFLINE:
            continue
        if not any(member not in replacing and routing.targets[member].public_state == PublicState.SERVING
                   for member in chain.target_ids):
            raise Fs3Error(errno.EBUSY, f"chain {chain.chain_id} would have no serving target left while target "
                                        f"{target_id} is replaced; bring its other replicas back first")
    for target_id in target_ids:
        if not routing.targets[target_id].admin_offline:
            await session.mgmtd.offline_target(target_id)
    results = []
    for target_id in target_ids:
        node = session.storage_node(routing, routing.targets[target_id].node_id)
        reply = await session.call_node(node, StorageMethod.REPLACE_TARGET, storage_pb2.ReplaceTargetRequest(
            target_id=target_id), storage_pb2.ReplaceTargetResponse)
        chain = await session.mgmtd.online_target(target_id, emptied=True)
        results.append({"target_id": target_id, "node_id": node.node_id, "path": reply.path,
                        "chain_id": chain.chain_id if chain else 0})
        error_console.print(f"target {target_id} emptied in {reply.path} on node {node.node_id}; recovering",
                            markup=False, highlight=False)
    return results


def _replace_and_report(mgmtd: str | None, pick_targets, wait: bool, timeout: float, as_json: bool) -> None:
    async def main():
        async with _session(mgmtd) as session:
            target_ids = pick_targets(await session.routing())
            rows = await _replace_targets(session, target_ids)
            if wait:
                routing = await wait_until_serving(session, target_ids, timeout_s=timeout, console=error_console)
            else:
                routing = await session.routing()
            for row in rows:
                target = routing.targets[row["target_id"]]
                row["public_state"] = target.public_state.name.lower() if target.chain_id else "free"
            return rows

    rows = _run(main())
    _print_rows(rows, ["target_id", "node_id", "chain_id", "public_state", "path"], "replaced targets", as_json)


@app.command("replace-target", rich_help_panel=PANEL)
def replace_target(
    target_id: Annotated[int, typer.Argument(help="target id (see `fs3 targets`)")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 600.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a target with an empty one (same id and folder, e.g. on a new disk): it is taken offline if
    needed, emptied, and recovers everything from its chain. A target that left its chain becomes free."""
    _replace_and_report(mgmtd, lambda routing: [target_id], wait, timeout, as_json)


@app.command("replace-disk", rich_help_panel=PANEL)
def replace_disk(
    node: Annotated[int, typer.Option("--node", help="storage node id")],
    disk: Annotated[str, typer.Option("--disk", help="the disk's folder on that node")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 600.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace every target on one disk of a node (after swapping the disk): offline, empty, recover."""
    folder = os.path.normpath(disk)

    def pick(routing: RoutingInfo) -> list[int]:
        AdminSession.storage_node(routing, node)
        found = sorted(target.target_id for target in routing.targets.values()
                       if target.node_id == node and os.path.dirname(os.path.normpath(target.path)) == folder)
        if not found:
            raise Fs3Error(errno.ENOENT, f"node {node} has no targets on disk {folder}")
        return found

    _replace_and_report(mgmtd, pick, wait, timeout, as_json)


# ---- chains ----------------------------------------------------------------------------
def _migration_rows(migrations) -> list[dict]:
    return [{"chain_id": m.chain_id, "from_target_id": m.from_target_id, "to_target_id": m.to_target_id}
            for m in migrations]


@app.command("move-chain", rich_help_panel=PANEL)
def move_chain(
    chain_id: Annotated[int, typer.Argument(help="chain id (see `fs3 chains`)")],
    from_target: Annotated[int, typer.Option("--from", help="the member that leaves")] = 0,
    to_target: Annotated[int, typer.Option("--to", help="a free target that joins")] = 0,
    cancel: Annotated[bool, typer.Option("--cancel", help="stop the chain's move (before the new target "
                                                          "serves; it is then held offline)")] = False,
    wait: WaitOption = False,
    timeout: TimeoutOption = 600.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a chain member: the new target joins, recovers, serves; then the old one leaves."""
    if cancel == bool(from_target and to_target):
        _fail("give --from and --to, or --cancel")
    if cancel:
        _cancel_move(mgmtd, chain_id, as_json)
        return

    async def main():
        async with _session(mgmtd) as session:
            migration = await session.mgmtd.move_chain(chain_id, from_target, to_target)
            if wait:
                await wait_until_serving(session, [to_target], timeout_s=timeout, moving_chain_ids=[chain_id],
                                         console=error_console)
            routing = await session.routing()
            return _migration_rows([migration])[0] | {"done": wait, "chain": _chain_json(routing.chains[chain_id],
                                                                                         routing)}

    row = _run(main())
    text = (f"chain {chain_id}: target {from_target} replaced by {to_target}" if wait else
            f"chain {chain_id}: moving target {from_target} to {to_target} (follow with `fs3 status`)")
    _print(row, text, as_json)


def _cancel_move(mgmtd: str | None, chain_id: int, as_json: bool) -> None:
    async def main():
        async with _session(mgmtd) as session:
            migration = await session.mgmtd.cancel_chain_move(chain_id)
            routing = await session.routing()
            return _migration_rows([migration])[0] | {"cancelled": True,
                                                      "chain": _chain_json(routing.chains[chain_id], routing)}

    row = _run(main())
    _print(row, f"chain {chain_id}: move of target {row['from_target_id']} to {row['to_target_id']} cancelled; "
                f"target {row['to_target_id']} is held offline (`fs3 replace-target` frees it)", as_json)


@app.command("add-node", rich_help_panel=PANEL)
def add_node(
    node: Annotated[int, typer.Argument(help="storage node id with free targets (see create-targets)")],
    chains_max: Annotated[int, typer.Option("--chains-max", help="move at most this many chains (0: balance)")] = 0,
    wait: WaitOption = False,
    timeout: TimeoutOption = 1800.0,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move chain members onto a storage node's free targets until the nodes hold about as many each."""

    async def main():
        async with _session(mgmtd) as session:
            migrations = await session.mgmtd.move_chains_to_node(node, chains_max)
            if wait and migrations:
                await wait_until_serving(session, [m.to_target_id for m in migrations], timeout_s=timeout,
                                         moving_chain_ids=[m.chain_id for m in migrations], console=error_console)
            return _migration_rows(migrations)

    rows = _run(main())
    for row in rows:
        row["done"] = wait
    if not rows and not as_json:
        console.print(f"node {node}: no chain needs to move (the nodes are balanced)")
        return
    _print_rows(rows, ["chain_id", "from_target_id", "to_target_id", "done"], f"chains moved onto node {node}",
                as_json)


def parse_chain_rows(text: str, *, what: str) -> list[list[int]]:
    """Rows of integers from a CSV (comma or whitespace separated); blank, `#` and header lines skipped."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in next(csv.reader(io.StringIO(line.replace(" ", ",")))) if field.strip()]
        if not fields[0].isdigit():
            if rows:
                raise CliError(f"{what} line {number}: {line!r} is not a list of numbers")
            continue  # a header
        if not all(field.isdigit() for field in fields):
            raise CliError(f"{what} line {number}: {line!r} is not a list of numbers")
        rows.append([int(field) for field in fields])
    if not rows:
        raise CliError(f"{what} lists nothing")
    return rows


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError as error:
        raise CliError(f"{path}: {error.strerror}") from None


@app.command("generate-chains", rich_help_panel=PANEL)
def generate_chains_command(
    replication: Annotated[int, typer.Option("--replication", help="targets per chain")] = 3,
    count: Annotated[int, typer.Option("--count", help="chains to build (0: from every free target)")] = 0,
    first_chain_id: Annotated[int, typer.Option("--first-chain-id", help="default: after the highest")] = 0,
    seed: Annotated[int, typer.Option(help="placement search seed")] = 1,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="write the chains CSV here")] = None,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Chains over the free targets (no two replicas on one node, node pairs sharing chains evenly,
    heads balanced), as a CSV for `fs3 upload-chains`; shows the extra read load a node failure causes."""

    async def main():
        async with _session(mgmtd) as session:
            return await session.routing()

    routing = _run(main())
    free = [t for t in routing.targets.values() if t.chain_id == 0 and not t.admin_offline]
    if not free:
        _fail("no free targets (create some with `fs3 create-targets`)")
    first = first_chain_id or max(routing.chains, default=0) + 1
    try:
        slots = slots_by_disk((t.target_id, t.node_id, t.path) for t in free)
        if count:
            slots = select_slots(slots, count, replication)
        chains = generate_chains(slots, replication, first_chain_id=first, seed=seed)
    except ValueError as error:
        _fail(f"cannot build chains: {error}")
    target_node = {slot.target_id: slot.node_id for slot in slots}
    nodes = sorted(set(target_node.values()))
    worst = 0.0
    for failed in nodes:
        load = recovery_read_load(chains, target_node, failed)
        if load and sum(load.values()):
            worst = max(worst, max(load.values()) / (sum(load.values()) / len(load)))
    csv_text = "ChainId," + ",".join(f"TargetId{index + 1}" for index in range(replication)) + "\n" + "".join(
        ",".join(str(value) for value in (chain.chain_id, *chain.target_ids)) + "\n" for chain in chains)
    if output:
        with open(output, "w") as file:
            file.write(csv_text)
    document = {"replication": replication, "chains": [{"chain_id": c.chain_id, "targets": list(c.target_ids)}
                                                       for c in chains],
                "heads_per_node": {str(n): k for n, k in sorted(head_counts(chains, target_node).items())},
                "busiest_survivor_load_ratio": round(worst, 3), "output": output}
    if as_json:
        print(json.dumps(document, indent=2))
        return
    if not output:
        print(csv_text, end="")
    error_console.print(f"{len(chains)} chains at R={replication} over {len(nodes)} nodes; heads per node "
                        f"{document['heads_per_node']}; a node failure puts at most {worst:.2f}x the average "
                        f"extra read load on one survivor" + (f"; written to {output}" if output else ""),
                        markup=False, highlight=False)


@app.command("upload-chains", rich_help_panel=PANEL)
def upload_chains(
    file: Annotated[str, typer.Argument(help="CSV: chain id, then its targets head first, one chain a line")],
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create chains from free targets (as `fs3 generate-chains` writes them); chains that exist must be
    listed unchanged."""
    rows = []
    try:
        rows = parse_chain_rows(_read(file), what=file)
    except CliError as error:
        _fail(str(error))
    if any(len(row) < 2 for row in rows):
        _fail(f"{file}: every chain needs an id and at least one target")

    async def main():
        async with _session(mgmtd) as session:
            chains = await session.mgmtd.set_chains([(row[0], row[1:]) for row in rows])
            return chains, await session.routing()

    chains, routing = _run(main())
    _print_rows([_chain_json(chain, routing) for chain in chains] if as_json else
                [{"chain_id": c.chain_id, "chain_version": c.chain_version, "targets": _members_text(c, routing)}
                 for c in chains], ["chain_id", "chain_version", "targets"], "chains", as_json)


@app.command("upload-chain-table", rich_help_panel=PANEL)
def upload_chain_table(
    table_id: Annotated[int, typer.Argument(help="chain table id")],
    file: Annotated[str, typer.Argument(help="chain ids, one a line (the first column of a chains CSV)")],
    replace: Annotated[bool, typer.Option("--replace", help="change an existing table (its files' chunks "
                                                             "then map to other chains)")] = False,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a chain table over existing chains (new files use it via their directory's layout)."""
    rows = []
    try:
        rows = parse_chain_rows(_read(file), what=file)
    except CliError as error:
        _fail(str(error))

    async def main():
        async with _session(mgmtd) as session:
            return await session.mgmtd.set_chain_table(table_id, [row[0] for row in rows], replace=replace)

    table = _run(main())
    _print({"table_id": table.table_id, "table_version": table.table_version, "chains": table.chain_ids},
           f"chain table {table.table_id} version {table.table_version}: chains {table.chain_ids}", as_json)
