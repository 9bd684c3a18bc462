"""Mount an fs3 cluster with FUSE, serve it until unmounted or signalled, unmount.

    python -m fs3.client.fuse.daemon MOUNTPOINT --mgmtd HOST:PORT [--allow-other]

`fs3 mount` starts this in the background and waits until the mount is live.
SIGTERM and SIGINT end the main loop; buffered writes are sent and write
sessions closed, then the file system is unmounted.

The daemon finds its token like every client (FS3_TOKEN, FS3_TOKEN_FILE, the
local cluster's token file) and passes each caller's uid, gid and groups to
the metadata services, which accept that only from a user with the root flag:
a mount for several local users needs a root token; with any other token only
the token user's own uid gets answers (others get EPERM).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys

from fs3.client.client import Fs3Client
from fs3.client.fuse import kernel
from fs3.client.fuse.config import FuseConfig
from fs3.client.fuse.operations import Fs3Operations

__all__ = ["MountOptions", "mount_options", "serve", "main"]

logger = logging.getLogger("fs3.fuse")


@dataclasses.dataclass(frozen=True, slots=True)
class MountOptions:
    allow_other: bool = False
    default_permissions: bool = True
    debug: bool = False


def mount_options(options: MountOptions, config: FuseConfig) -> set[str]:
    """The mount options (libfuse's names; max_read follows the session's max_write, 1 MiB)."""
    result = {"fsname=fs3", "subtype=fs3"}
    if options.default_permissions:
        result.add("default_permissions")
    if options.allow_other:
        result.add("allow_other")
    if options.debug:
        result.add("debug")
    return result


def set_kernel_read_ahead(mountpoint: str, read_ahead_bytes: int) -> None:
    """Raise the mount's bdi read_ahead_kb (kernel default 128 KiB limits cold sequential reads).

    Runs in a thread: stat() of the mountpoint is served by this daemon's own loop.
    """
    try:
        device = os.stat(mountpoint).st_dev
        path = f"/sys/class/bdi/{os.major(device)}:{os.minor(device)}/read_ahead_kb"
        with open(path, "w") as file:
            file.write(f"{read_ahead_bytes // 1024}\n")
        logger.info("kernel readahead of %s set to %d KiB", mountpoint, read_ahead_bytes // 1024)
    except OSError as error:
        logger.warning("cannot set the kernel readahead of %s: %s", mountpoint, error)


async def serve(mountpoint: str, mgmtd_addresses: list[str], options: MountOptions = MountOptions(),
                config: FuseConfig = FuseConfig()) -> None:
    """Connect, mount, run until unmounted or SIGTERM/SIGINT, then release everything and unmount."""
    client = await Fs3Client.connect(mgmtd_addresses)
    assert client.identity is not None
    if not client.identity.root:
        logger.warning("the token of %s has no root flag: requests of other uids than %d will fail with EPERM",
                       client.identity.name, client.identity.uid)
    operations = Fs3Operations(client, config)
    unmounted_by_us = False
    try:
        kernel.init(operations, mountpoint, mount_options(options, config))
        loop = asyncio.get_running_loop()
        stop_requested = False

        def request_stop(signal_number: int) -> None:
            nonlocal stop_requested
            if not stop_requested:
                stop_requested = True
                logger.info("signal %d: unmounting %s", signal_number, mountpoint)
                kernel.terminate()

        for signal_number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signal_number, request_stop, signal_number)
        logger.info("fs3 mounted on %s", mountpoint)
        if config.kernel_read_ahead_bytes:
            loop.run_in_executor(None, set_kernel_read_ahead, mountpoint, config.kernel_read_ahead_bytes)
        try:
            await kernel.main(max_tasks=config.worker_tasks_max)
        finally:
            for signal_number in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signal_number)
            await operations.release_all()
            # after fusermount -u / umount the kernel already unmounted; a second unmount is harmless
            unmounted_by_us = stop_requested
            kernel.close(unmount=True)
    finally:
        await client.close()
    logger.info("fs3 on %s stopped (%s)", mountpoint, "unmounted" if unmounted_by_us else "unmounted externally")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fs3-fuse", description="Mount an fs3 cluster with FUSE (foreground).")
    parser.add_argument("mountpoint")
    parser.add_argument("--mgmtd", required=True, help="cluster manager host:port[,host:port...]")
    parser.add_argument("--allow-other", action="store_true")
    parser.add_argument("--no-default-permissions", action="store_true")
    parser.add_argument("--pid-file")
    parser.add_argument("--debug", action="store_true", help="log every FUSE request")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if arguments.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    mountpoint = os.path.abspath(arguments.mountpoint)
    if arguments.pid_file:
        with open(arguments.pid_file, "w") as file:
            file.write(f"{os.getpid()}\n")
    options = MountOptions(allow_other=arguments.allow_other,
                           default_permissions=not arguments.no_default_permissions, debug=arguments.debug)
    addresses = [address.strip() for address in arguments.mgmtd.split(",") if address.strip()]
    try:
        asyncio.run(serve(mountpoint, addresses, options))
    finally:
        if arguments.pid_file:  # unless a newer daemon of this mountpoint has taken it over meanwhile
            try:
                with open(arguments.pid_file) as file:
                    ours = file.read().strip() == str(os.getpid())
                if ours:
                    os.unlink(arguments.pid_file)
            except (FileNotFoundError, ValueError):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
