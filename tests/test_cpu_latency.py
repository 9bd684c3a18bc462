"""The PM QoS CPU latency limit: held while the block runs (the kernel reports it), released after,
and a no-op for -1."""

from __future__ import annotations

import os
import struct

import pytest

from fs3.cpu_latency import CpuLatencyLimit


def _current_limit_us() -> int:
    fd = os.open("/dev/cpu_dma_latency", os.O_RDONLY)
    try:
        return struct.unpack("<i", os.read(fd, 4))[0]
    finally:
        os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/dev/cpu_dma_latency"), reason="needs root and PM QoS")
def test_the_limit_holds_only_inside_the_block():
    before = _current_limit_us()
    with CpuLatencyLimit(0) as limit:
        assert limit.held and _current_limit_us() == 0
    assert not limit.held and _current_limit_us() == before
    with CpuLatencyLimit(-1) as untouched:
        assert not untouched.held and _current_limit_us() == before
