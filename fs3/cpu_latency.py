"""Keeping the CPUs' wake-up latency low while a service runs (Linux PM QoS).

A metadata call is two wake-ups (the service, then the caller). On virtual
machines whose idle vCPUs halt, each wake-up can cost 100-300 us; with a
CPU latency limit held open in /dev/cpu_dma_latency, idle CPUs poll
instead, and a `stat` round trip here drops from ~550 us to ~200 us
(README, Measured). This is the knob `tuned`'s latency-performance profile
turns; it trades idle power for latency, so it is opt-in
(`cpu_latency_limit_us`, -1: leave the system alone). The limit holds while
the file stays open: it ends with the process, however it ends.
"""

from __future__ import annotations

import logging
import os
import struct

__all__ = ["CpuLatencyLimit"]

logger = logging.getLogger(__name__)

_QOS_DEVICE = "/dev/cpu_dma_latency"


class CpuLatencyLimit:
    """`with CpuLatencyLimit(0): ...` holds the limit (microseconds) for the block; -1: does nothing.
    Without permission (not root) or the device, it logs a warning and carries on."""

    def __init__(self, limit_us: int) -> None:
        assert limit_us >= -1, f"bad CPU latency limit {limit_us}"
        self.limit_us = limit_us
        self._fd: int | None = None

    def __enter__(self) -> "CpuLatencyLimit":
        if self.limit_us < 0:
            return self
        try:
            fd = os.open(_QOS_DEVICE, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as error:
            logger.warning("cannot hold a CPU latency limit (%s): %s", _QOS_DEVICE, error)
            return self
        try:
            os.write(fd, struct.pack("<i", self.limit_us))
        except OSError as error:
            os.close(fd)
            logger.warning("cannot set a CPU latency limit of %d us: %s", self.limit_us, error)
            return self
        self._fd = fd
        logger.info("CPU wake-up latency limited to %d us while this process runs", self.limit_us)
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __exit__(self, *exc_info) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
