"""The distribution is what pyproject says: one `fs3` namespace, every package listed."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    found = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts:
                continue
            name = ".".join((package, *relative.parts)) if relative.parts else package
            if any(name.startswith(other + ".") for other in mapping if other != package and other.startswith(package)):
                continue
            found.add(name)
    assert found == listed


def test_components_import_only_under_fs3(tmp_path):
    """From outside the checkout, the installed distribution offers fs3.* and no bare meta/storage/client."""
    script = (
        "import importlib, importlib.util\n"
        "for name in ('fs3.meta', 'fs3.storage', 'fs3.client', 'fs3.mgmtd', 'fs3.kv', 'fs3.net'):\n"
        "    importlib.import_module(name)\n"
        f"root = {str(ROOT)!r}\n"
        "for bare in ('meta', 'storage', 'client'):\n"
        "    spec = importlib.util.find_spec(bare)\n"
        "    assert spec is None or not str(spec.origin or '').startswith(root), bare\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_cli_help_lists_the_verbs():
    result = subprocess.run([sys.executable, "-m", "fs3.cli", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for verb in ("local", "ls", "mkdir", "put", "get", "rm", "stat", "bench"):
        assert verb in result.stdout


def test_cli_without_a_cluster_fails_cleanly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", "ls", "/", "--mgmtd", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("fs3: error: ")
    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", "local", "status", "--data-dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1 and "no local cluster" in result.stderr


def test_generated_protobuf_code_is_current(tmp_path):
    """Regenerating from proto/ must give exactly the committed fs3/_proto files."""
    grpc_tools = importlib.util.find_spec("grpc_tools")
    if grpc_tools is None:
        import pytest

        pytest.skip("grpcio-tools not installed (pip install -e .[dev])")
    protos = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "proto").rglob("*.proto"))
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Iproto", f"--python_out={tmp_path}",
         f"--grpc_python_out={tmp_path}", *protos],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for generated in (tmp_path / "fs3" / "_proto").glob("*.py"):
        committed = ROOT / "fs3" / "_proto" / generated.name
        assert committed.read_text() == generated.read_text(), f"{generated.name} is stale: run make proto"
