"""The aligned buffer pool: aligned, bounded, thread-safe."""

from __future__ import annotations

import threading

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.chunk_engine import AlignedBufferPool
from fs3.storage.chunk_engine.buffers import buffer_address


def test_buffers_are_page_aligned_and_sized():
    pool = AlignedBufferPool(8192, 3)
    buffers = [pool.acquire() for _ in range(3)]
    for buffer in buffers:
        assert len(buffer) == 8192
        assert buffer_address(buffer) % 4096 == 0
    assert len({buffer_address(buffer) for buffer in buffers}) == 3
    for buffer in buffers:
        pool.release(buffer)
    pool.close()


def test_acquire_waits_and_times_out_when_empty():
    pool = AlignedBufferPool(4096, 1)
    buffer = pool.acquire()
    with pytest.raises(Fs3Error) as caught:
        pool.acquire(timeout_seconds=0.05)
    assert caught.value.code == StatusCode.TIMEOUT
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(timeout_seconds=5)))
    waiter.start()
    pool.release(buffer)
    waiter.join(5)
    assert got and got[0] is buffer
    pool.release(got[0])
    pool.close()


def test_release_of_foreign_or_double_buffer_is_a_bug():
    pool = AlignedBufferPool(4096, 1)
    with pytest.raises(AssertionError):
        pool.release(memoryview(bytearray(4096)))
    with pool.borrow() as buffer:
        pass
    with pytest.raises(AssertionError):
        pool.release(buffer)
    pool.close()


def test_close_with_buffer_lent_out_is_a_bug():
    pool = AlignedBufferPool(4096, 2)
    buffer = pool.acquire()
    with pytest.raises(AssertionError):
        pool.close()
    pool.release(buffer)
    pool.close()


def test_many_threads_share_a_small_pool():
    pool = AlignedBufferPool(4096, 2)
    errors = []

    def worker(marker):
        for _ in range(200):
            with pool.borrow(timeout_seconds=10) as buffer:
                buffer[0] = marker
                buffer[4095] = marker
                if buffer[0] != marker or buffer[4095] != marker:
                    errors.append("buffer shared between two holders")

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert pool.free_count == 2
    pool.close()
