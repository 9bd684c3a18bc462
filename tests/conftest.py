"""Shared fixtures: real clusters of real processes in temporary folders.

Every cluster lives in its own tmp folder on free ports and is stopped in the
fixture's teardown, also when the test fails; a final check makes sure no
service process outlives the session.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import pytest

from fs3.local.cluster import LocalCluster, LocalClusterSpec


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="run long soak/fault/benchmark tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="long run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def start_cluster(folder, **spec_overrides) -> LocalCluster:
    spec = LocalClusterSpec(**{"heartbeat_timeout_s": 5.0, **spec_overrides})
    cluster = LocalCluster(folder, spec)
    cluster.up(timeout_s=90)
    return cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A module-wide local cluster: 1 manager, 2 meta, 3 storage x 5 targets, R=3."""
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield cluster
    finally:
        cluster.down(timeout_s=10)


def run_cli(cluster: LocalCluster, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `fs3` command line against `cluster`."""
    environment = {**os.environ, "FS3_LOCAL_DIR": str(cluster.data_dir)}
    environment.pop("FS3_MGMTD", None)
    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", *args], capture_output=True, text=True, env=environment, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fs3 {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_async(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture(scope="session", autouse=True)
def no_leftover_services(tmp_path_factory):
    """After the whole session, no fs3 service started by this session's tests may still run."""
    base = str(tmp_path_factory.getbasetemp())
    yield
    leftovers = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().split(b"\0")
        except OSError:
            continue
        if len(command) > 3 and command[1] == b"-m" and command[2] in (b"fs3.mgmtd", b"fs3.meta", b"fs3.storage"):
            config = command[4].decode(errors="replace") if len(command) > 4 else ""
            if config.startswith(base + os.sep):
                leftovers.append((int(entry), config))
    for pid, _config in leftovers:
        os.kill(pid, signal.SIGKILL)
    assert not leftovers, f"service processes outlived their tests: {leftovers}"
