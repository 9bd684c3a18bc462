"""Stopping background tasks: one way, used by every service and client."""

from __future__ import annotations

import asyncio

__all__ = ["stop_tasks"]


async def stop_tasks(*tasks: asyncio.Task | None) -> None:
    """Cancel the given tasks (None is skipped) and wait until each has ended."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        try:
            await task
        except asyncio.CancelledError:
            pass
