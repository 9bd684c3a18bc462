"""A forward that may have reached the successor is retried as the whole chunk with the head's version.

Two real targets in one process; the forwarder hands the head's hops to the
tail's StorageNode and can lose the acknowledgement after the tail applied
the update (the case a network cut or a timeout makes). Afterwards both
replicas must hold the same bytes under the same version number.
"""

from __future__ import annotations

import asyncio

from fs3.errors import Fs3Error, StatusCode
from fs3.routing import PublicState
from fs3.storage.requests import WriteResult
from tests.storage.replication.test_node_recovery import CHUNK, _node, _routing, _write, executor  # noqa: F401


class LossyForwarder:
    """Delivers each hop to `tail`; loses the acknowledgement of the hops whose numbers are in `lose`."""

    def __init__(self, lose: set[int]) -> None:
        self.tail = None
        self.lose = lose
        self.hops = []
        self.queries = 0

    async def forward_write(self, successor, request, payload) -> WriteResult:
        self.hops.append(request)
        result = await self.tail.write(request, payload)
        if len(self.hops) in self.lose:
            raise Fs3Error(StatusCode.TIMEOUT, "acknowledgement lost")
        return result

    async def query_chunk(self, successor, chain_id, chunk_id):
        self.queries += 1
        return await self.tail.query_chunk(chain_id, chunk_id, successor.target_id)


async def _a_failed_update(head, offset: int) -> None:
    """A chunk of 1000 "a", then an update of 10 "b" at `offset` whose write fails (the forwarders
    lose it, or its acknowledgements)."""
    await head.write(_write(b"a" * 1000, 0), memoryview(b"a" * 1000))
    try:
        await head.write(_write(b"b" * 10, offset), memoryview(b"b" * 10))
        raise AssertionError("the write should have failed")
    except Fs3Error as error:
        assert error.code == StatusCode.UNAVAILABLE


async def _both(head_target, tail_target, length: int):
    metas = [await target.get_meta(CHUNK) for target in (head_target, tail_target)]
    contents = []
    for target in (head_target, tail_target):
        buffer = bytearray(length)
        await target.read(CHUNK, 0, length, memoryview(buffer), relaxed=False)
        contents.append(bytes(buffer))
    return [(meta.committed_version, meta.pending_version) for meta in metas], contents


def test_a_lost_acknowledgement_is_retried_as_the_whole_chunk_and_versions_agree(tmp_path, executor):  # noqa: F811
    routing = _routing(PublicState.SERVING, PublicState.SERVING)
    forwarder = LossyForwarder(lose={2})
    head, head_target = _node(tmp_path, executor, 1, routing, forwarder=forwarder)
    tail, tail_target = _node(tmp_path, executor, 2, _routing(PublicState.SERVING, PublicState.SERVING))
    forwarder.tail = tail

    async def main():
        await head.write(_write(b"a" * 1000, 0), memoryview(b"a" * 1000))
        # hop 2 reaches the tail (its version 2) but its acknowledgement is lost; hop 3 is the retry
        result = await head.write(_write(b"b" * 10, 500), memoryview(b"b" * 10))
        assert [hop.full_chunk_replace for hop in forwarder.hops] == [False, False, True]
        assert forwarder.hops[2].update_version == 2 and forwarder.hops[2].length == 1000
        versions, contents = await _both(head_target, tail_target, 1000)
        assert result.committed_version == 2
        assert versions == [(2, 0), (2, 0)]  # applying the patch again would have made the tail's 3
        assert contents[0] == contents[1] == b"a" * 500 + b"b" * 10 + b"a" * 490
        head_target.close()
        tail_target.close()

    asyncio.run(main())


def test_after_a_failed_forward_the_next_write_sends_the_whole_chunk(tmp_path, executor):  # noqa: F811
    routing = _routing(PublicState.SERVING, PublicState.SERVING)
    forwarder = LossyForwarder(lose={2, 3})  # forward_retries_max is 2: the second write fails
    head, head_target = _node(tmp_path, executor, 1, routing, forwarder=forwarder)
    tail, tail_target = _node(tmp_path, executor, 2, _routing(PublicState.SERVING, PublicState.SERVING))
    forwarder.tail = tail

    async def main():
        await _a_failed_update(head, 100)
        # the head still holds that update as pending; the tail committed it (only the acknowledgements
        # were lost). A different update now: the head asks the tail first, commits the update the tail
        # has, and sends the new one as a patch on top, at the next version everywhere
        result = await head.write(_write(b"c" * 10, 700), memoryview(b"c" * 10))
        last = forwarder.hops[-1]
        assert forwarder.queries == 1
        assert (last.full_chunk_replace, len(forwarder.hops)) == (False, 4)
        versions, contents = await _both(head_target, tail_target, 1000)
        assert result.committed_version == 3 and versions == [(3, 0), (3, 0)]
        assert contents[0] == contents[1] == b"a" * 100 + b"b" * 10 + b"a" * 590 + b"c" * 10 + b"a" * 290
        # and the chunk's writes after that are patches, without asking
        await head.write(_write(b"d" * 10, 0), memoryview(b"d" * 10))
        assert forwarder.hops[-1].full_chunk_replace is False and forwarder.queries == 1
        versions, contents = await _both(head_target, tail_target, 1000)
        assert versions == [(4, 0), (4, 0)] and contents[0] == contents[1]
        head_target.close()
        tail_target.close()

    asyncio.run(main())


async def _states(targets, expected: bytes) -> list[tuple[int, int, bool]]:
    """(committed version, pending version, content == expected) of each target's chunk."""
    states = []
    for target in targets:
        meta = await target.get_meta(CHUNK)
        buffer = bytearray(len(expected))
        await target.read(CHUNK, 0, len(expected), memoryview(buffer), relaxed=False)
        states.append((meta.committed_version, meta.pending_version, bytes(buffer) == expected))
    return states


def _three_nodes(tmp_path, executor, to_middle, to_tail):
    """Head -> middle -> tail, each a real target; the forwarders deliver to the next node."""
    head, head_target = _node(tmp_path, executor, 1, _three_target_routing(), forwarder=to_middle)
    middle, middle_target = _node(tmp_path, executor, 2, _three_target_routing(), forwarder=to_tail)
    tail, tail_target = _node(tmp_path, executor, 3, _three_target_routing())
    to_middle.tail, to_tail.tail = middle, tail
    return head, (head_target, middle_target, tail_target)




def _three_target_routing():
    from fs3.routing import ChainInfo, NodeInfo, NodeType, RoutingInfo, TargetInfo

    routing = RoutingInfo(routing_version=9)
    routing.chains[7] = ChainInfo(7, 3, [1, 2, 3])
    for target_id in (1, 2, 3):
        routing.nodes[target_id] = NodeInfo(target_id, NodeType.STORAGE, "127.0.0.1", target_id)
        routing.targets[target_id] = TargetInfo(target_id, target_id, public_state=PublicState.SERVING, chain_id=7)
    return routing


def test_a_middle_target_that_committed_the_update_keeps_its_version_on_the_retry(tmp_path, executor):  # noqa: F811
    """Head -> middle -> tail; the middle committed the update (the tail too) but the head lost the
    acknowledgement. The head's retry (the whole chunk with its version) must leave all three at
    one version number, not the middle and tail one higher than the head."""
    to_middle, to_tail = LossyForwarder(lose={2}), LossyForwarder(lose=set())
    head, targets = _three_nodes(tmp_path, executor, to_middle, to_tail)
    head_target, middle_target, tail_target = targets

    async def main():
        await head.write(_write(b"a" * 1000, 0), memoryview(b"a" * 1000))
        result = await head.write(_write(b"b" * 10, 500), memoryview(b"b" * 10))
        assert [hop.full_chunk_replace for hop in to_middle.hops] == [False, False, True]
        expected = b"a" * 500 + b"b" * 10 + b"a" * 490
        states = await _states((head_target, middle_target, tail_target), expected)
        assert result.committed_version == 2
        assert states == [(2, 0, True)] * 3
        # the middle passed the duplicate on unchanged (the tail rewrote the same version)
        assert to_tail.hops[-1].full_chunk_replace and to_tail.hops[-1].update_version == 2
        await head.write(_write(b"c" * 10, 0), memoryview(b"c" * 10))  # and later writes are patches, in step
        assert [(await target.get_meta(CHUNK)).committed_version
                for target in (head_target, middle_target, tail_target)] == [3, 3, 3]
        for target in (head_target, middle_target, tail_target):
            target.close()

    asyncio.run(main())


def test_a_tail_without_the_failed_update_gets_the_new_one_as_the_whole_chunk(tmp_path, executor):  # noqa: F811
    """The failed forward never reached the tail: asking it shows that, and the head's different
    update goes down as the whole chunk with the head's version (the tail holds no other)."""
    to_tail = LossyForwarder(lose=set())
    head, head_target = _node(tmp_path, executor, 1, _routing(PublicState.SERVING, PublicState.SERVING),
                              forwarder=to_tail)
    tail, tail_target = _node(tmp_path, executor, 2, _routing(PublicState.SERVING, PublicState.SERVING))
    to_tail.tail = tail

    async def main():
        await head.write(_write(b"a" * 1000, 0), memoryview(b"a" * 1000))
        delivered = to_tail.forward_write

        async def unreachable(successor, request, payload):
            to_tail.hops.append(request)
            raise Fs3Error(StatusCode.UNAVAILABLE, "successor down")

        to_tail.forward_write = unreachable
        try:
            await head.write(_write(b"b" * 10, 100), memoryview(b"b" * 10))
            raise AssertionError("the write should have failed")
        except Fs3Error as error:
            assert error.code == StatusCode.UNAVAILABLE
        to_tail.forward_write = delivered
        result = await head.write(_write(b"c" * 10, 700), memoryview(b"c" * 10))
        assert to_tail.queries == 1
        last = to_tail.hops[-1]
        assert last.full_chunk_replace and last.update_version == 2
        versions, contents = await _both(head_target, tail_target, 1000)
        assert result.committed_version == 2 and versions == [(2, 0), (2, 0)]
        assert contents[0] == contents[1] == b"a" * 700 + b"c" * 10 + b"a" * 290
        head_target.close()
        tail_target.close()

    asyncio.run(main())


def test_a_different_update_after_a_lost_acknowledgement_keeps_three_targets_in_step(tmp_path, executor):  # noqa: F811
    """Head -> middle -> tail: the update reached all three (middle and tail committed it) but the
    head never got the acknowledgement and its client gave up. A different update next must leave
    all three at one version with one content (before: head 2, middle and tail 3)."""
    to_middle, to_tail = LossyForwarder(lose={2, 3}), LossyForwarder(lose=set())
    head, targets = _three_nodes(tmp_path, executor, to_middle, to_tail)
    head_target, middle_target, tail_target = targets

    async def main():
        await _a_failed_update(head, 500)
        await head.write(_write(b"c" * 10, 0), memoryview(b"c" * 10))
        expected = b"c" * 10 + b"a" * 490 + b"b" * 10 + b"a" * 490
        states = await _states((head_target, middle_target, tail_target), expected)
        assert states == [(3, 0, True)] * 3
        for target in (head_target, middle_target, tail_target):
            target.close()

    asyncio.run(main())


class DroppingForwarder(LossyForwarder):
    """Like LossyForwarder; the hops whose numbers are in `drop` never reach the successor."""

    def __init__(self, lose: set[int], drop: set[int]) -> None:
        super().__init__(lose)
        self.drop = drop

    async def forward_write(self, successor, request, payload) -> WriteResult:
        if len(self.hops) + 1 in self.drop:
            self.hops.append(request)
            raise Fs3Error(StatusCode.UNAVAILABLE, "successor down")
        return await super().forward_write(successor, request, payload)


def test_a_middle_target_with_its_own_lost_acknowledgement_follows_the_heads_versions(tmp_path, executor):  # noqa: F811
    """The update reached the tail, but both the middle's forwards lost their acknowledgements and the
    head's retry never reached the middle: head and middle both hold it pending, both uncertain. The
    head's next (different) update goes down as the whole chunk with its version; the middle must
    not settle on its own (it would commit the update and store the head's chunk one version up)."""
    to_middle = DroppingForwarder(lose=set(), drop={3})
    to_tail = DroppingForwarder(lose={2, 3}, drop=set())
    head, targets = _three_nodes(tmp_path, executor, to_middle, to_tail)
    head_target, middle_target, tail_target = targets

    async def main():
        await _a_failed_update(head, 500)
        await head.write(_write(b"c" * 10, 0), memoryview(b"c" * 10))
        expected = b"c" * 10 + b"a" * 990  # the head's chunk: its failed update replaced
        states = await _states((head_target, middle_target, tail_target), expected)
        assert states == [(2, 0, True)] * 3
        assert to_tail.queries == 0
        for target in (head_target, middle_target, tail_target):
            target.close()

    asyncio.run(main())
