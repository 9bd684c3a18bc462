"""Fixtures of the metadata tests (no pytest-asyncio: `run` drives a coroutine)."""

from __future__ import annotations

import importlib.util
import os

import fs3

# The editable install maps only `fs3` while pyproject's package discovery
# does not list fs3.meta; let `fs3.meta` resolve to the repo's meta/ folder.
if importlib.util.find_spec("fs3.meta") is None:  # pragma: no cover - packaging fallback
    fs3.__path__.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
