"""What an admin verb talks to: the cluster manager, and storage or metadata services directly.

`AdminSession` opens both for one command and closes them; `wait_until_serving`
follows targets through recovery with a progress bar on stderr (stdout stays
clean for `--json`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Iterable

from google.protobuf.message import Message
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fs3.errors import Fs3Error, StatusCode
from fs3.mgmtd.client import ClusterStatus, MgmtdClient
from fs3.net.client import ClientConfig, RpcClientPool
from fs3.tokens import resolve_token
from fs3.routing import LocalState, NodeInfo, NodeType, PublicState, RoutingInfo

__all__ = ["AdminSession", "wait_until_serving", "POLL_INTERVAL_S"]

POLL_INTERVAL_S = 0.5
_STORAGE_CALL_TIMEOUT_S = 60.0  # emptying a target waits for its calls in flight (up to 30 s)


class AdminSession:
    """The cluster manager (with fail-over) and an RPC pool for storage and metadata services."""

    def __init__(self, mgmtd_addresses: list[str]) -> None:
        token = resolve_token()
        self.mgmtd = MgmtdClient(mgmtd_addresses, token=token)
        self.rpc = RpcClientPool(ClientConfig(call_timeout_s=_STORAGE_CALL_TIMEOUT_S), token=token)

    async def __aenter__(self) -> "AdminSession":
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.rpc.close()
        await self.mgmtd.close()

    async def status(self) -> ClusterStatus:
        return await self.mgmtd.cluster_status()

    async def routing(self) -> RoutingInfo:
        return (await self.mgmtd.cluster_status()).routing

    @staticmethod
    def storage_node(routing: RoutingInfo, node_id: int) -> NodeInfo:
        node = routing.nodes.get(node_id)
        if node is None or node.node_type != NodeType.STORAGE:
            raise Fs3Error(StatusCode.UNKNOWN_NODE, f"node {node_id} is not a registered storage node")
        return node

    async def call_node(self, node: NodeInfo, method: int, request: Message, response_type: type[Message]) -> Message:
        """One framed-RPC call to a storage or metadata service; errors name the node."""
        try:
            result = await self.rpc.get(node.host, node.port).call(method, request, response_type)
        except Fs3Error as error:
            raise Fs3Error(error.code, f"node {node.node_id} ({node.address}): {error.message}") from None
        return result.message


def _target_progress(routing: RoutingInfo, target_id: int) -> tuple[str, int, int]:
    """(state text, chunks held, chunks its chain's serving members hold) of one target."""
    target = routing.targets.get(target_id)
    if target is None:
        return "unknown", 0, 1
    chain = routing.chains.get(target.chain_id)
    reference = max((routing.targets[member].chunk_count for member in (chain.target_ids if chain else [])
                     if member != target_id and member in routing.targets
                     and routing.targets[member].public_state == PublicState.SERVING), default=0)
    state = target.public_state.name.lower() if target.chain_id else "free"
    if target.admin_offline:
        state += " (offline by an operator)"
    return state, target.chunk_count, max(reference, target.chunk_count, 1)


def _target_done(routing: RoutingInfo, target_id: int) -> bool:
    target = routing.targets.get(target_id)
    if target is None or target.admin_offline:
        return False
    return target.chain_id == 0 or (target.public_state == PublicState.SERVING
                                    and target.local_state == LocalState.UP_TO_DATE)


async def wait_until_serving(
    session: AdminSession,
    target_ids: Iterable[int],
    *,
    timeout_s: float,
    moving_chain_ids: Iterable[int] = (),
    console: Console,
) -> RoutingInfo:
    """Until every target serves and is up to date (a free target counts once it is back in the free
    pool) and none of `moving_chain_ids` is still moving; a progress bar per target on `console`.

    Raises:
        Fs3Error(TIMEOUT): not there after `timeout_s`, naming each target's state.
    """
    target_ids = sorted(set(target_ids))
    moving = set(moving_chain_ids)
    deadline = time.monotonic() + timeout_s
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} chunks"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {target_id: progress.add_task(f"target {target_id}", total=1) for target_id in target_ids}
        states: dict[int, str] = {}
        still_moving: set[int] = set()
        while time.monotonic() <= deadline:  # each round sleeps, so this ends by the deadline
            status = await session.status()
            routing = status.routing
            for target_id in target_ids:
                state, held, total = _target_progress(routing, target_id)
                done = _target_done(routing, target_id)
                progress.update(tasks[target_id], description=f"target {target_id}: {state}",
                                completed=total if done else min(held, total), total=total)
            still_moving = moving & {migration.chain_id for migration in status.migrations}
            if not still_moving and all(_target_done(routing, target_id) for target_id in target_ids):
                return routing
            states = {target_id: _target_progress(routing, target_id)[0] for target_id in target_ids}
            await asyncio.sleep(POLL_INTERVAL_S)
    moving_text = f"; chains still moving: {sorted(still_moving)}" if still_moving else ""
    raise Fs3Error(StatusCode.TIMEOUT, f"not serving after {timeout_s:.0f}s: {states}{moving_text}")
