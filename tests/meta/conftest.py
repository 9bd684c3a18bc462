"""Fixtures of the metadata tests (no pytest-asyncio: `run` drives a coroutine)."""

from __future__ import annotations

