"""Shared fixtures: real clusters of real processes in temporary folders.

Every cluster lives in its own tmp folder on free ports and is stopped in the
fixture's teardown, also when the test fails; a final check makes sure no
service process outlives the session.

Every test cluster's user `root` gets one session-wide admin token, which
every client in the tests (and every `fs3` command they run) finds through
FS3_TOKEN_FILE; tests of users and tokens make their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import shutil
import signal
import subprocess
import sys

import pytest

from fs3.local.cluster import LocalCluster, LocalClusterSpec
from fs3.tokens import new_token, write_token_file

SESSION_ADMIN_TOKEN = new_token()


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="run long soak/fault/benchmark tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="long run: pass --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session", autouse=True)
def session_admin_token(tmp_path_factory):
    """SESSION_ADMIN_TOKEN in a file named by FS3_TOKEN_FILE for the whole session (FS3_TOKEN unset)."""
    path = tmp_path_factory.getbasetemp() / "admin.token"
    write_token_file(path, SESSION_ADMIN_TOKEN)
    saved = {name: os.environ.pop(name, None) for name in ("FS3_TOKEN", "FS3_TOKEN_FILE")}
    os.environ["FS3_TOKEN_FILE"] = str(path)
    try:
        yield SESSION_ADMIN_TOKEN
    finally:
        os.environ.pop("FS3_TOKEN_FILE", None)
        os.environ.update({name: value for name, value in saved.items() if value is not None})


def start_cluster(folder, **spec_overrides) -> LocalCluster:
    spec = LocalClusterSpec(**{"heartbeat_timeout_s": 5.0, **spec_overrides})
    cluster = LocalCluster(folder, spec, admin_token=SESSION_ADMIN_TOKEN)
    cluster.up(timeout_s=90)
    return cluster


@contextlib.contextmanager
def running_cluster(folder, **spec_overrides):
    """`start_cluster`, then stop it and remove its chunk data however the block ends."""
    cluster = start_cluster(folder, **spec_overrides)
    try:
        yield cluster
    finally:
        cluster.down(timeout_s=10)
        remove_cluster_data(cluster)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A module-wide local cluster: 1 manager, 2 meta, 3 storage x 5 targets, R=3."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


def remove_cluster_data(cluster: LocalCluster) -> None:
    """Chunk data of a stopped test cluster goes at once (gigabytes); logs and configs stay."""
    for child in cluster.data_dir.glob("storage-*"):
        shutil.rmtree(child, ignore_errors=True)


def run_cli(cluster: LocalCluster, *args: str, check: bool = True, timeout: float = 300,
            env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """Run the real `fs3` command line against `cluster` (`env`: variables to set, or to unset with None)."""
    environment = {**os.environ, "FS3_LOCAL_DIR": str(cluster.data_dir)}
    environment.pop("FS3_MGMTD", None)
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    result = subprocess.run(
        [sys.executable, "-m", "fs3.cli", *args], capture_output=True, text=True, env=environment, timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"fs3 {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def run_async(coroutine):
    return asyncio.run(coroutine)


async def eventually(condition, timeout_s: float = 10.0, poll_s: float = 0.05) -> None:
    """Wait until `condition()` holds; AssertionError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"condition not reached within {timeout_s}s"
        await asyncio.sleep(poll_s)


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
