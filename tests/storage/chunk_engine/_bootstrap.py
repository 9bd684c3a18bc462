"""Make `fs3.storage` importable when the editable install does not map it.

pyproject's package discovery (`include = ["fs3*"]`) finds only directories
named fs3*, so `storage/` is not mapped to `fs3.storage` yet. Until the
packaging maps it, tests (and the crash test's child process) load it from
the source tree. A no-op once `import fs3.storage` works.
"""

from __future__ import annotations

import importlib.util
import os
import sys

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def ensure_storage_package() -> None:
    try:
        import fs3.storage  # noqa: F401
    except ModuleNotFoundError:
        import fs3

        path = os.path.join(REPOSITORY_ROOT, "storage", "__init__.py")
        spec = importlib.util.spec_from_file_location(
            "fs3.storage", path, submodule_search_locations=[os.path.dirname(path)])
        module = importlib.util.module_from_spec(spec)
        sys.modules["fs3.storage"] = module
        fs3.storage = module
        spec.loader.exec_module(module)
