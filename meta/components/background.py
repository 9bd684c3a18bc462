"""The loop every background component of the metadata service runs.

A component implements `run_once()` (one bounded pass; returns how much work
it did) and says how big a full pass is and how long to rest: a pass that did
a full batch runs again at once, anything less rests `interval_s`. One
component's failure is logged and retried, never fatal to the service.
"""

from __future__ import annotations

import abc
import asyncio
import logging

from fs3.tasks import stop_tasks

__all__ = ["BackgroundComponent"]

logger = logging.getLogger(__name__)


class BackgroundComponent(abc.ABC):
    name = "background pass"

    def __init__(self) -> None:
        self._task: asyncio.Task | None = None

    @abc.abstractmethod
    async def run_once(self) -> int:
        """One bounded pass; the amount of work done (items)."""

    @abc.abstractmethod
    def _batch_size(self) -> int: ...

    @abc.abstractmethod
    def _interval_s(self) -> float: ...

    def reconfigure(self, config) -> None:
        """Hot update (`fs3 set-config --type meta`): later passes take their bounds from `config`.
        Every component keeps its MetaConfig in `_config`."""
        self._config = config

    def start(self) -> None:
        assert self._task is None, f"{self.name} started twice"
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        await stop_tasks(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            done = 0
            try:
                done = await self.run_once() or 0
            except Exception:
                logger.exception("%s failed", self.name)
            if done < self._batch_size():
                await asyncio.sleep(self._interval_s())
