"""A fake kernel: drives a real `Session` over a socketpair instead of /dev/fuse.

SOCK_SEQPACKET keeps message boundaries as /dev/fuse does (one read, one
request; one write, one reply), so the session runs unchanged: non-blocking
fd, add_reader, readv, writev. Tests send requests the real kernel would
never send (unknown opcodes, short bodies) and read the raw replies.
"""

from __future__ import annotations

import asyncio
import itertools
import socket

from fs3.client.fuse.kernel import Session, SessionLimits
from fs3.client.fuse.kernel.protocol import IN_HEADER, INIT_IN, INIT_OUT, OUT_HEADER, InitFlag, Opcode

# what kernel 6.18 offers (INIT: 7.45, flags 0x73fffffb)
KERNEL_FLAGS = 0x73FFFFFB
REPLY_BYTES_MAX = 2 << 20


class FakeKernel:
    """Use as `async with FakeKernel(operations) as kernel:`; INIT is done on entry."""

    def __init__(self, operations, limits: SessionLimits = SessionLimits(), *, init: bool = True) -> None:
        self.socket, self._session_socket = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.socket.setblocking(False)
        self.session = Session(operations, self._session_socket.fileno(), limits=limits)
        self._unique = itertools.count(2, 2)
        self._do_init = init
        self._task: asyncio.Task | None = None
        self.init_reply: tuple | None = None

    async def __aenter__(self) -> "FakeKernel":
        self._task = asyncio.get_running_loop().create_task(self.session.run())
        if self._do_init:
            error, body = await self.request(Opcode.INIT, INIT_IN.pack(7, 45, 128 << 10, KERNEL_FLAGS | InitFlag.INIT_EXT)
                                             + bytes(48))
            assert error == 0, error
            self.init_reply = INIT_OUT.unpack(body)
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.unmount()

    async def unmount(self) -> None:
        """Close the kernel side: the session reads end-of-file and returns."""
        if self.socket.fileno() >= 0:
            self.socket.close()
        await asyncio.wait_for(self._task, 15)
        self._session_socket.close()

    def next_unique(self) -> int:
        return next(self._unique)

    async def send(self, opcode: int, body: bytes = b"", *, nodeid: int = 1, unique: int | None = None,
                   uid: int = 0, gid: int = 0, pid: int = 4242, length: int | None = None) -> int:
        unique = self.next_unique() if unique is None else unique
        header = IN_HEADER.pack(IN_HEADER.size + len(body) if length is None else length, opcode, unique, nodeid,
                                uid, gid, pid, 0, 0)
        await asyncio.get_running_loop().sock_sendall(self.socket, header + body)
        return unique

    async def send_raw(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.socket, data)

    async def receive(self) -> tuple[int, int, bytes]:
        """The next reply: (unique, error as a positive errno or 0, body)."""
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.socket, REPLY_BYTES_MAX), 15)
        length, error, unique = OUT_HEADER.unpack_from(data)
        assert length == len(data), (length, len(data))
        return unique, -error, data[OUT_HEADER.size:]

    async def request(self, opcode: int, body: bytes = b"", **header) -> tuple[int, bytes]:
        """Send one request and wait for its reply (nothing else may be in flight)."""
        unique = await self.send(opcode, body, **header)
        replied, error, reply = await self.receive()
        assert replied == unique, (replied, unique)
        return error, reply

    async def no_reply_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.socket, REPLY_BYTES_MAX), seconds)
        except asyncio.TimeoutError:
            return True
        return False
