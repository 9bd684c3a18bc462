"""Shared start-up for service processes: logging, uvloop, signals, shutdown.

A service is an object with `async start()` and `async stop()`. SIGTERM and
SIGINT trigger a clean stop; the process exits non-zero if start fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Callable, Protocol

import uvloop

from fs3.cpu_latency import CpuLatencyLimit

from fs3.config import load_config
from fs3.tuning import tune_malloc

__all__ = ["Service", "run_service", "service_main", "setup_logging"]


class Service(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


def setup_logging(level: str, name: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def run_service(service: Service) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code."""
    assert sys.flags.optimize == 0, "services never run with python -O: asserts guard invariants"
    tune_malloc()

    async def main() -> int:
        stop_requested = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, stop_requested.set)
        try:
            await service.start()
        except Exception:
            logging.getLogger(__name__).exception("service failed to start")
            await service.stop()
            return 1
        await stop_requested.wait()
        await service.stop()
        return 0

    return uvloop.run(main())


def service_main(description: str, config_type: type, make_service: Callable[[object], Service], name: str) -> int:
    """The whole `main()` of a service process: `--config FILE`, logging, run until signalled."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    config = load_config(config_type, args.config)
    setup_logging(config.log_level, f"{name}-{config.node_id}")
    try:
        service = make_service(config)
    except Exception:
        logging.getLogger(__name__).exception("service failed to start")
        return 1
    with CpuLatencyLimit(getattr(config, "cpu_latency_limit_us", -1)):
        return run_service(service)
