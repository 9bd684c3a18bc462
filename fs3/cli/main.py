"""The `fs3` command line.

    fs3 local up|down|status     a whole cluster on this machine
    fs3 ls|stat|mkdir|rm|mv      the namespace
    fs3 rmtree PATH --expire 1h  move a tree to /trash/<uid>, deleted when it expires
    fs3 put|get                  copy files in and out
    fs3 bench                    native-client throughput against the local disk
    fs3 mount|umount             a FUSE mount of the cluster
    fs3 status|nodes|clients     the cluster (fs3/cli/cluster.py, admin.py)
    fs3 create-targets|offline-target|replace-target|replace-disk|add-node|...
                                 placement (fs3/cli/placement.py)
    fs3 set-config|get-config    settings distributed per node type (fs3/cli/config.py)
    fs3 user-add|users|user-token|user-remove|whoami   users and tokens (fs3.cli.users)

Namespace verbs find the cluster manager from `--mgmtd host:port`, the
`FS3_MGMTD` environment variable, or the local cluster's folder, and their
token from `fs3 --token TOKEN VERB ...`, FS3_TOKEN, FS3_TOKEN_FILE, or the
local cluster's admin.token, in that order. Every failure prints one line
`fs3: error: ...` and exits non-zero.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
import uvloop
from rich.console import Console
from rich.table import Table

from fs3.errors import Fs3Error

app = typer.Typer(help="fs3: a parallel distributed file system for AI workloads.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
local_app = typer.Typer(help="Run a whole cluster on this machine.", no_args_is_help=True)
app.add_typer(local_app, name="local")

# Piped or captured output is not cut to 80 columns (tables would elide ids and checksums).
console = Console(width=None if sys.stdout.isatty() else 200)
error_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

DEFAULT_LOCAL_DIR = os.environ.get("FS3_LOCAL_DIR", str(Path.home() / ".fs3" / "local"))

MgmtdOption = Annotated[Optional[str], typer.Option("--mgmtd", help="cluster manager host:port", envvar="FS3_MGMTD")]
DataDirOption = Annotated[str, typer.Option("--data-dir", help="local cluster folder", envvar="FS3_LOCAL_DIR")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


class CliError(Exception):
    pass


@app.callback()
def _global_options(
    token: Annotated[Optional[str], typer.Option(
        "--token", help="token to act with (else FS3_TOKEN, FS3_TOKEN_FILE, the local cluster's admin.token)")] = None,
) -> None:
    if token:
        # Every client of this process, and any daemon it starts (fs3 mount), resolves the token from here.
        os.environ["FS3_TOKEN"] = token


def _fail(message: str, code: int = 1) -> None:
    print(f"fs3: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


def _run(coroutine):
    """Run a coroutine; turn fs3 and OS errors into one clear line and exit 1."""
    try:
        return uvloop.run(coroutine)  # the services' loop too: fewer wake-ups per call than asyncio's
    except Fs3Error as error:
        _fail(str(error))
    except (OSError, CliError, ValueError) as error:
        _fail(str(error))


def _mgmtd_addresses(mgmtd: str | None, data_dir: str = DEFAULT_LOCAL_DIR) -> list[str]:
    if mgmtd:
        return [address.strip() for address in mgmtd.split(",") if address.strip()]
    from fs3.local.cluster import LocalCluster

    cluster = LocalCluster(data_dir)
    if not cluster.initialized:
        raise CliError(f"no cluster manager given (--mgmtd or FS3_MGMTD) and no local cluster in {data_dir}")
    return cluster.mgmtd_addresses


async def _client(mgmtd: str | None):
    from fs3.client import Fs3Client

    return await Fs3Client.connect(_mgmtd_addresses(mgmtd))


def _with_client(mgmtd: str | None, body):
    """Connect, return `await body(client)`, close; failures become one line and exit 1."""

    async def main():
        client = await _client(mgmtd)
        try:
            return await body(client)
        finally:
            await client.close()

    return _run(main())


def _copy(mgmtd: str | None, copy) -> None:
    """Run one whole-file copy (`copy(client)` returns bytes copied) and report its rate."""

    async def timed(client):
        started = time.perf_counter()
        count = await copy(client)
        return count, time.perf_counter() - started

    count, seconds = _with_client(mgmtd, timed)
    error_console.print(f"{count} bytes in {seconds:.2f}s ({count / max(seconds, 1e-9) / 1e6:.0f} MB/s)")


# ---- local cluster -------------------------------------------------------------
@local_app.command("up")
def local_up(
    data_dir: DataDirOption = DEFAULT_LOCAL_DIR,
    storage: Annotated[int, typer.Option(help="storage services (first start only)")] = 3,
    targets: Annotated[int, typer.Option(help="targets per storage service (first start only)")] = 5,
    replication: Annotated[int, typer.Option(help="replication factor (first start only)")] = 3,
    meta: Annotated[int, typer.Option(help="metadata services (first start only)")] = 2,
    managers: Annotated[int, typer.Option(help="cluster managers, one primary (first start only)")] = 1,
    timeout: Annotated[float, typer.Option(help="seconds to wait until serving")] = 90.0,
    cpu_latency_us: Annotated[int, typer.Option(
        "--cpu-latency-us", help="metadata and storage services hold this PM QoS CPU wake-up latency limit, "
                                 "-1: none (first start only; fs3/cpu_latency.py)")] = -1,
) -> None:
    """Start (or restart) the local cluster; its data lives under DATA_DIR."""
    from fs3.local.cluster import LocalCluster, LocalClusterSpec

    cluster = LocalCluster(data_dir)
    if not cluster.initialized:
        cluster.spec = LocalClusterSpec(meta_services=meta, mgmtd_services=managers, storage_services=storage,
                                        targets_per_storage=targets, replication_factor=replication,
                                        cpu_latency_limit_us=cpu_latency_us)
    try:
        cluster.up(timeout_s=timeout)
    except Fs3Error as error:
        _fail(f"{error} (logs in {cluster.data_dir / 'logs'})")
    console.print(f"fs3 local cluster is up in {cluster.data_dir}; cluster manager at {','.join(cluster.mgmtd_addresses)}")
    admin = [f"http://127.0.0.1:{s.http_port}/api/v1/status" for s in cluster.services.values() if s.http_port]
    if admin:
        console.print(f"admin API: {' '.join(admin)}")
    _print_status(cluster)
    _restore_mounts(cluster)


@local_app.command("down")
def local_down(data_dir: DataDirOption = DEFAULT_LOCAL_DIR) -> None:
    """Stop every service of the local cluster (data is kept)."""
    from fs3.local.cluster import LocalCluster

    cluster = LocalCluster(data_dir)
    if not cluster.initialized:
        _fail(f"no local cluster in {data_dir}")
    from fs3.client.fuse.mount_control import daemon_arguments, is_mounted, mounts_of_cluster, unmount

    unmounted = _mounts_to_restore(cluster)  # (any an earlier `up` did not get to)
    for mountpoint in mounts_of_cluster(cluster.mgmtd_addresses):
        allow_other = "--allow-other" in (daemon_arguments(mountpoint) or [])
        try:
            unmount(mountpoint, lazy=True, timeout_s=15)
            console.print(f"unmounted {mountpoint}")
        except Fs3Error as error:  # e.g. detached, but its daemon still serves a process inside it
            console.print(f"unmounting {mountpoint}: {error}")
        if not is_mounted(mountpoint):
            unmounted = [entry for entry in unmounted if entry["mountpoint"] != mountpoint]
            unmounted.append({"mountpoint": mountpoint, "allow_other": allow_other})
    if unmounted:  # `fs3 local up` mounts them again
        (cluster.data_dir / _REMOUNT_FILE).write_text(json.dumps(unmounted))
    cluster.down()
    console.print("fs3 local cluster is down")


_REMOUNT_FILE = "mounts-to-restore.json"


def _restore_mounts(cluster) -> None:
    """Mount again what `fs3 local down` unmounted (same paths, same --allow-other)."""
    from fs3.client.fuse.mount_control import is_mounted, start_background

    entries = _mounts_to_restore(cluster)
    (cluster.data_dir / _REMOUNT_FILE).unlink(missing_ok=True)
    for entry in entries:
        mountpoint = entry["mountpoint"]
        if is_mounted(mountpoint):
            continue
        try:
            pid = start_background(mountpoint, cluster.mgmtd_addresses, allow_other=entry["allow_other"])
        except (Fs3Error, OSError) as error:
            console.print(f"could not mount {mountpoint} again: {error}")
            continue
        console.print(f"fs3 mounted on {mountpoint} again (daemon pid {pid})")


def _mounts_to_restore(cluster) -> list[dict]:
    """The mounts `fs3 local down` recorded; a damaged record is reported and ignored."""
    path = cluster.data_dir / _REMOUNT_FILE
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        console.print(f"ignoring {path}: {error}")
        return []
    if not isinstance(entries, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("mountpoint"), str) for entry in entries):
        console.print(f"ignoring {path}: not a list of mounts")
        return []
    return [{"mountpoint": entry["mountpoint"], "allow_other": bool(entry.get("allow_other"))} for entry in entries]


@local_app.command("status")
def local_status(data_dir: DataDirOption = DEFAULT_LOCAL_DIR, as_json: JsonOption = False) -> None:
    """Show every service and target; exit 1 unless all are up and serving."""
    from fs3.local.cluster import LocalCluster

    cluster = LocalCluster(data_dir)
    if not cluster.initialized:
        _fail(f"no local cluster in {data_dir}")
    healthy = _print_status(cluster, as_json=as_json)
    if not healthy:
        raise typer.Exit(1)


def _print_status(cluster, as_json: bool = False) -> bool:
    routing, problem = asyncio.run(cluster.status())
    running = cluster.running()
    if as_json:
        document = {
            "data_dir": str(cluster.data_dir),
            "mgmtd": cluster.mgmtd_addresses,
            "healthy": routing is not None and problem is None and all(running.values()),
            "problem": problem,
            "services": [
                {"name": name, "node_id": service.node_id, "pid": service.pid, "running": running[name],
                 "alive": bool(routing and service.node_id in routing.nodes and routing.nodes[service.node_id].alive)
                 if service.module != "fs3.mgmtd" else running[name]}
                for name, service in cluster.services.items()
            ],
            "targets": [] if routing is None else [
                {"target_id": t.target_id, "node_id": t.node_id, "chain_id": t.chain_id,
                 "public_state": t.public_state.name.lower(), "local_state": t.local_state.name.lower(),
                 "used_bytes": t.used_bytes, "chunk_count": t.chunk_count}
                for t in sorted(routing.targets.values(), key=lambda t: t.target_id)
            ],
        }
        print(json.dumps(document, indent=2))
        return document["healthy"]
    services = Table(title="services")
    for column in ("service", "node", "pid", "process", "heartbeat"):
        services.add_column(column)
    for name, service in cluster.services.items():
        alive = "-"
        if routing is not None and service.module != "fs3.mgmtd":
            node = routing.nodes.get(service.node_id)
            alive = "alive" if node is not None and node.alive else "dead"
        services.add_row(name, str(service.node_id), str(service.pid or "-"),
                         "up" if running[name] else "down", alive)
    console.print(services)
    if routing is None:
        console.print(f"cluster manager unreachable: {problem}")
        return False
    targets = Table(title="targets")
    for column in ("target", "node", "chain", "public", "local", "chunks", "used"):
        targets.add_column(column)
    for target in sorted(routing.targets.values(), key=lambda t: t.target_id):
        targets.add_row(str(target.target_id), str(target.node_id), str(target.chain_id),
                        target.public_state.name.lower(), target.local_state.name.lower(), str(target.chunk_count),
                        _human_bytes(target.used_bytes))
    console.print(targets)
    healthy = problem is None and all(running.values())
    console.print("all services up, all targets serving" if healthy else f"not healthy: {problem or 'a process is down'}")
    return healthy


def _human_bytes(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(count)


# ---- cluster ---------------------------------------------------------------------
@app.command("init", rich_help_panel="Cluster")
def init(
    replication: Annotated[int, typer.Option(help="replication factor")] = 3,
    table_id: Annotated[int, typer.Option(help="chain table id")] = 1,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a chain table from every registered target not yet in a chain."""
    from fs3.mgmtd.client import MgmtdClient

    async def main():
        client = MgmtdClient(_mgmtd_addresses(mgmtd))
        try:
            await client.create_chain_table(table_id, replication)
            routing = await client.get_routing_info()
            return routing.chain_tables[table_id]
        finally:
            await client.close()

    table = _run(main())
    if as_json:
        print(json.dumps({"table_id": table.table_id, "table_version": table.table_version,
                          "chains": table.chain_ids}))
        return
    console.print(f"chain table {table.table_id} version {table.table_version}: {len(table.chain_ids)} chains")


# ---- namespace -------------------------------------------------------------------
@app.command("ls")
def ls(path: Annotated[str, typer.Argument()] = "/", mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """List a directory."""

    async def main():
        client = await _client(mgmtd)
        try:
            info = await client.stat(path)
            if not info.is_dir:
                return [(os.path.basename(path.rstrip("/")) or path, info)]
            entries = await client.listdir(path)
            stats = await asyncio.gather(*(client.stat(path.rstrip("/") + "/" + entry.name, follow_symlinks=False)
                                           for entry in entries))
            return [(entry.name, stat) for entry, stat in zip(entries, stats)]
        finally:
            await client.close()

    rows = _run(main())
    if as_json:
        print(json.dumps([{"name": name, "inode_id": s.inode_id, "type": s.type, "mode": oct(s.mode), "uid": s.uid,
                           "gid": s.gid, "length": s.length, "mtime_ns": s.mtime_ns} for name, s in rows], indent=2))
        return
    for name, stat in rows:
        kind = "d" if stat.is_dir else ("l" if stat.type == "symlink" else "-")
        stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(stat.mtime_ns / 1e9))
        console.print(f"{kind}{oct(stat.mode)[2:]:>4} {stat.uid:>5} {stat.gid:>5} {stat.length:>14} {stamp} {name}",
                      markup=False, highlight=False)


@app.command("stat")
def stat_command(path: str, mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Show a file's or directory's attributes and layout."""
    info = _with_client(mgmtd, lambda client: client.stat(path))
    document = {
        "path": path, "inode_id": info.inode_id, "type": info.type, "mode": oct(info.mode), "uid": info.uid,
        "gid": info.gid, "nlink": info.nlink, "length": info.length, "atime_ns": info.atime_ns,
        "mtime_ns": info.mtime_ns, "ctime_ns": info.ctime_ns,
        "layout": None if info.layout is None else {
            "chain_table_id": info.layout.chain_table_id, "chunk_size": info.layout.chunk_size,
            "stripe_size": info.layout.stripe_size, "first_chain_index": info.layout.first_chain_index,
        },
    }
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        for key, value in document.items():
            console.print(f"{key:>10}: {value}", markup=False, highlight=False)


@app.command("mkdir")
def mkdir(path: str, parents: Annotated[bool, typer.Option("-p", "--parents")] = False,
          mode: Annotated[str, typer.Option(help="octal permission bits")] = "755", mgmtd: MgmtdOption = None) -> None:
    """Create a directory."""
    _with_client(mgmtd, lambda client: client.mkdir(path, int(mode, 8), parents=parents))


@app.command("rm")
def rm(path: str, recursive: Annotated[bool, typer.Option("-r", "--recursive")] = False, mgmtd: MgmtdOption = None) -> None:
    """Remove a file, or a directory tree with -r."""

    async def remove_tree(client, target: str) -> None:
        info = await client.stat(target, follow_symlinks=False)
        if not info.is_dir:
            await client.unlink(target)
            return
        if not recursive:
            raise Fs3Error(21, f"{target} is a directory (use -r)")  # EISDIR
        for entry in await client.listdir(target):
            await remove_tree(client, target.rstrip("/") + "/" + entry.name)
        await client.rmdir(target)

    async def main():
        client = await _client(mgmtd)
        try:
            await remove_tree(client, path)
        finally:
            await client.close()

    _run(main())


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'90s', '30m', '1h', '7d' or plain seconds -> seconds."""
    text = text.strip().lower()
    unit = _DURATION_UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        value = float(number)
    except ValueError:
        raise CliError(f"bad duration {text!r} (use e.g. 90s, 30m, 1h, 7d)") from None
    return value * (unit or 1)


@app.command("rmtree")
def rmtree(path: str,
           expire: Annotated[str, typer.Option("--expire", help="delete after this long: 1h .. 7d (e.g. 90m, 2d)")] = "1d",
           json_output: JsonOption = False, mgmtd: MgmtdOption = None) -> None:
    """Move a file or directory tree to the trash (/trash/<uid>/<name>-<time>); it is
    deleted when it expires and can be restored with `fs3 mv` before."""

    async def main():
        seconds = parse_duration(expire)
        client = await _client(mgmtd)
        try:
            return await client.rmtree_to_trash(path, seconds)
        finally:
            await client.close()

    trash_path, _stat, expire_at_ns = _run(main())
    expires = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expire_at_ns / 1e9))
    if json_output:
        print(json.dumps({"trash_path": trash_path, "expire_at_ns": expire_at_ns}))
    else:
        console.print(f"moved {path} to {trash_path} (deleted at {expires})", markup=False, highlight=False)


@app.command("mv")
def mv(source: str, destination: str, mgmtd: MgmtdOption = None) -> None:
    """Rename a file or directory (atomic)."""
    _with_client(mgmtd, lambda client: client.rename(source, destination))


@app.command("put")
def put(local: str, remote: str, mgmtd: MgmtdOption = None,
        depth: Annotated[int, typer.Option(help="1 MiB blocks in flight")] = 16) -> None:
    """Copy a local file into fs3."""
    if not os.path.isfile(local):
        _fail(f"{local}: not a regular file")
    _copy(mgmtd, lambda client: client.put(local, remote, depth=depth))


@app.command("get")
def get(remote: str, local: str, mgmtd: MgmtdOption = None,
        depth: Annotated[int, typer.Option(help="1 MiB blocks in flight")] = 16) -> None:
    """Copy an fs3 file to a local file."""
    _copy(mgmtd, lambda client: client.get(remote, local, depth=depth))


@app.command("bench")
def bench(
    size_mib: Annotated[int, typer.Option("--size-mib", help="file size")] = 1024,
    block_kib: Annotated[int, typer.Option("--block-kib", help="request size")] = 1024,
    depth: Annotated[int, typer.Option(help="requests in flight")] = 16,
    replication: Annotated[int, typer.Option(help="replication of the benchmark cluster")] = 1,
    work_dir: Annotated[Optional[str], typer.Option(help="folder for the benchmark cluster and disk reference")] = None,
    cpu_latency_us: Annotated[int, typer.Option(
        "--cpu-latency-us", help="hold this PM QoS CPU wake-up latency limit for the whole run, disk reference "
                                 "included (-1: leave the system's idle states)")] = -1,
    tcp: Annotated[bool, typer.Option("--tcp", help="keep payloads in TCP frames instead of the same-host "
                                                    "shared memory (as between hosts without RDMA)")] = False,
    rounds: Annotated[int, typer.Option(help="alternating disk/fs3 rounds; the report gives medians")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Start a scratch cluster, write then read a file; compare with the local disk (O_DIRECT)."""
    from fs3.bench.native import run_native_benchmark

    try:
        report = run_native_benchmark(size_mib=size_mib, block_kib=block_kib, depth=depth,
                                      replication=replication, work_dir=work_dir, cpu_latency_us=cpu_latency_us,
                                      tcp_only=tcp, rounds=rounds)
    except Fs3Error as error:
        _fail(str(error))
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        from fs3.bench.native import format_report

        console.print(format_report(report), markup=False, highlight=False)


# ---- FUSE mount ------------------------------------------------------------------
@app.command("mount")
def mount(
    mountpoint: str,
    mgmtd: MgmtdOption = None,
    foreground: Annotated[bool, typer.Option("--foreground", "-f", help="serve in this process until unmounted")] = False,
    allow_other: Annotated[bool, typer.Option("--allow-other", help="let other users use the mount")] = False,
    pid_file: Annotated[Optional[str], typer.Option(help="where the daemon writes its pid")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait until the mount is live")] = 30.0,
) -> None:
    """Mount the cluster at MOUNTPOINT with FUSE (in the background unless --foreground)."""
    try:
        addresses = _mgmtd_addresses(mgmtd)
    except CliError as error:
        _fail(str(error))
    if foreground:
        from fs3.client.fuse.daemon import main as daemon_main

        arguments = [mountpoint, "--mgmtd", ",".join(addresses)] + (["--allow-other"] if allow_other else [])
        raise typer.Exit(daemon_main(arguments + (["--pid-file", pid_file] if pid_file else [])))
    from fs3.client.fuse.mount_control import start_background

    try:
        pid = start_background(mountpoint, addresses, pid_file=Path(pid_file) if pid_file else None,
                               allow_other=allow_other, timeout_s=timeout)
    except Fs3Error as error:
        _fail(str(error))
    console.print(f"fs3 mounted on {os.path.abspath(mountpoint)} (daemon pid {pid})")


@app.command("umount")
def umount(
    mountpoint: str,
    lazy: Annotated[bool, typer.Option("--lazy", "-z", help="detach now even if busy")] = False,
    pid_file: Annotated[Optional[str], typer.Option(help="the daemon's pid file, if not the default")] = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the daemon to exit")] = 30.0,
) -> None:
    """Unmount an fs3 FUSE mount and wait for its daemon to exit."""
    from fs3.client.fuse.mount_control import unmount

    try:
        unmount(mountpoint, pid_file=Path(pid_file) if pid_file else None, lazy=lazy, timeout_s=timeout)
    except Fs3Error as error:
        _fail(str(error))
    console.print(f"fs3 unmounted from {os.path.abspath(mountpoint)}")


from fs3.cli import admin as _admin_verbs  # noqa: E402,F401  (registers nodes, targets, chains, ...)
from fs3.cli import inspection as _inspection_verbs  # noqa: E402,F401  (registers dump-inodes, fsck, gc, ...)
from fs3.cli import cluster as _cluster_verbs  # noqa: E402,F401  (status, clients, local add-storage)
from fs3.cli import config as _config_verbs  # noqa: E402,F401  (set-config, get-config)
from fs3.cli import placement as _placement_verbs  # noqa: E402,F401  (create-targets, replace-disk, ...)
from fs3.cli import users as _user_verbs  # noqa: E402,F401  (registers user-add, users, user-remove, ...)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
