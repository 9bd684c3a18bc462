"""Receive buffers: reuse, lending while a payload view lives, and their bounds.

Goal: a buffer is reused as soon as nothing points into it and never while a
view of it is alive. Method: the pool alone, with views held and dropped.
"""

from __future__ import annotations

from fs3.client.fuse.kernel.buffers import ReceiveBufferPool, is_exported


def test_is_exported_sees_views_and_their_slices_and_leaves_the_buffer_as_it_was():
    buffer = bytearray(b"abcdef")
    assert not is_exported(buffer) and buffer == bytearray(b"abcde\0")  # the spare last byte is scratch
    view = memoryview(buffer)[1:3]
    inner = memoryview(view)[1:]
    del view
    assert is_exported(buffer) and len(buffer) == 6
    del inner
    assert not is_exported(buffer) and len(buffer) == 6


def test_a_buffer_without_views_is_reused_at_once():
    pool = ReceiveBufferPool(1024, busy_max=2, lent_max=4)
    first = pool.acquire()
    pool.release(first)
    assert pool.acquire() is first and pool.allocated == 1


def test_a_lent_buffer_comes_back_only_once_its_view_is_gone():
    pool = ReceiveBufferPool(1024, busy_max=2, lent_max=4)
    buffer = pool.acquire()
    payload = pool.view(buffer, 80, 1000)
    assert isinstance(payload, memoryview) and len(payload) == 920
    pool.release(buffer, lending=True)
    assert pool.lent == 1
    other = pool.acquire()
    assert other is not buffer and pool.allocated == 2
    pool.release(other)
    kept = payload[10:20]
    del payload
    assert pool.reclaim() == 0  # a slice still points into it
    del kept
    assert pool.reclaim() == 1 and pool.lent == 0


def test_beyond_lent_max_payloads_are_copies():
    pool = ReceiveBufferPool(64, busy_max=4, lent_max=1)
    first = pool.acquire()
    kept = pool.view(first, 0, 10)
    pool.release(first, lending=True)
    second = pool.acquire()
    copy = pool.view(second, 0, 10)
    assert isinstance(kept, memoryview) and isinstance(copy, bytes)
    pool.release(second)  # a copy does not lend
    assert pool.lent == 1 and pool.acquire() is second
