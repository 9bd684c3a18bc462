"""Non-blocking Unix-socket reads that can carry file descriptors, on any asyncio loop.

asyncio's socket helpers cannot receive ancillary data, so the first read of
a registration (the one the descriptor arrives with) waits for readability
with `add_reader` and calls `recvmsg` itself.
"""

from __future__ import annotations

import asyncio
import os
import socket

__all__ = ["receive_exactly", "send_all"]


async def _wait(sock: socket.socket, *, writable: bool = False) -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    fd = sock.fileno()

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    (loop.add_writer if writable else loop.add_reader)(fd, ready)
    try:
        await future
    finally:
        (loop.remove_writer if writable else loop.remove_reader)(fd)


async def receive_exactly(sock: socket.socket, size: int, *, fds_max: int = 0) -> tuple[bytes, list[int]]:
    """`size` bytes, and the descriptors that came with the first of them (at most `fds_max`).

    Raises:
        ConnectionError: the peer closed first, or sent more descriptors than `fds_max`
            (those received are closed).
    """
    data = bytearray()
    fds: list[int] = []
    while len(data) < size:
        try:
            if fds_max and not data:
                chunk, received, flags, _address = socket.recv_fds(sock, size, fds_max)
                fds.extend(received)
                if flags & socket.MSG_CTRUNC:
                    close_all(fds)
                    raise ConnectionError(f"more than {fds_max} file descriptors sent")
            else:
                chunk = sock.recv(size - len(data))
        except (BlockingIOError, InterruptedError):
            await _wait(sock)
            continue
        if not chunk:
            close_all(fds)
            raise ConnectionError(f"peer closed after {len(data)} of {size} bytes")
        data += chunk
    return bytes(data), fds


async def send_all(sock: socket.socket, data: bytes, fds: list[int] | None = None) -> None:
    """Send `data`; `fds` ride along with its first byte."""
    view = memoryview(data)
    while view:
        try:
            sent = socket.send_fds(sock, [view], fds) if fds else sock.send(view)
        except (BlockingIOError, InterruptedError):
            await _wait(sock, writable=True)
            continue
        fds = None
        view = view[sent:]


def close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    fds.clear()
