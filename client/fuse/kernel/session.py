"""The request loop of one FUSE connection, on asyncio.

How a request flows:

1. /dev/fuse is non-blocking and watched with `loop.add_reader`. When it is
   readable, `_on_readable` reads requests (one `os.readv` each, into a
   buffer from the `ReceiveBufferPool`) until the kernel has none left, at
   most `reads_per_wakeup_max` per callback, and stops watching while
   `requests_max` requests are in flight (backpressure: the kernel queues).
2. `_dispatch` unpacks the `fuse_in_header` and decodes the body at once:
   arguments and names are copied out (small) and the buffer is free for the
   next read; only a WRITE keeps its buffer, because its payload is handed
   over as a view of it. INIT, FORGET, BATCH_FORGET, INTERRUPT, DESTROY and
   NOTIFY_REPLY are answered right there; an opcode without a handler gets
   ENOSYS; the rest run as one task each (`_serve`).
3. `_serve` awaits the opcode's handler (`handlers.HANDLERS`), which calls the
   operations object, and writes the reply with one `os.writev` (header and
   body parts, no joining). FUSEError(errno) becomes -errno in the reply
   header; a malformed body EINVAL; any other exception EIO, logged. The
   session never stops for one bad request.

SETLKW requests (waiting for a lock) count against `lock_waits_max`
instead of `requests_max`, and an INTERRUPT of one cancels it (EINTR).
Other interrupts are ignored, as pyfuse3 did: every other request ends by
itself. The loop ends when the kernel reports ENODEV (unmounted) or on
`terminate()`; requests in flight then get `drain_timeout_s` to finish.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import errno
import inspect
import logging
import os

from fs3.client.fuse.kernel.api import FUSEError
from fs3.client.fuse.kernel.buffers import ReceiveBufferPool
from fs3.client.fuse.kernel.handlers import HANDLERS, Handler, MalformedRequest, Request
from fs3.client.fuse.kernel.limits import SessionLimits
from fs3.client.fuse.kernel.negotiation import Capabilities, Connection, negotiate
from fs3.client.fuse.kernel.protocol import (
    BATCH_FORGET_IN, ERRNO_MAX, FORGET_IN, FORGET_ONE, IN_HEADER, INTERRUPT_IN, OUT_HEADER, WRITE_IN, Opcode,
)

__all__ = ["Session"]

logger = logging.getLogger(__name__)

_WRITE_PAYLOAD_START = IN_HEADER.size + WRITE_IN.size
_UNKNOWN_LOGGED_MAX = 64  # distinct unimplemented opcodes logged once each
_NO_REPLY = frozenset({Opcode.FORGET, Opcode.BATCH_FORGET, Opcode.INTERRUPT, Opcode.NOTIFY_REPLY})


def _opcode_name(opcode: int) -> str:
    try:
        return Opcode(opcode).name
    except ValueError:
        return str(opcode)


class Session:
    """Serve one FUSE connection (an open /dev/fuse) with an operations object.

    Args:
        operations: an `api.Operations` (or anything with the same methods).
        fd: the connection, as mount.py opened it.
        limits: the session's bounds.
        debug: log every request and reply at DEBUG.
    """

    def __init__(self, operations, fd: int, *, limits: SessionLimits = SessionLimits(), debug: bool = False) -> None:
        self.operations = operations
        self.fd = fd
        self.limits = limits
        self.debug = debug
        self.capabilities = Capabilities.of(operations)
        self.connection: Connection | None = None
        self.destroyed = False
        # answers by opcode and errno, e.g. ("STATX", ENOSYS): what the kernel asked and got
        self.replies: collections.Counter[tuple[str, int]] = collections.Counter()
        self._buffers: ReceiveBufferPool | None = None
        self._requests: dict[int, asyncio.Task] = {}
        self._lock_waits: dict[int, asyncio.Task] = {}
        self._forgets: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading = False
        self._finished: asyncio.Future | None = None
        self._unknown_logged: set[int] = set()

    # ---- running ------------------------------------------------------------------------
    async def run(self, requests_max: int | None = None) -> None:
        """Serve until the file system is unmounted (ENODEV) or `terminate` is called.

        Args:
            requests_max: overrides `limits.requests_max` (pyfuse3's `main(max_tasks=...)`).
        """
        assert self._loop is None, "a session runs once"
        if requests_max is not None:
            self.limits = _with_requests_max(self.limits, requests_max)
        self.limits.check()
        self._loop = asyncio.get_running_loop()
        self._finished = self._loop.create_future()
        # busy buffers: one per request in flight (only WRITEs keep theirs) plus the read in progress
        self._buffers = ReceiveBufferPool(self.limits.receive_buffer_bytes, busy_max=self.limits.requests_max + 1,
                                          lent_max=self.limits.lent_buffers_max)
        os.set_blocking(self.fd, False)
        self._resume_reading()
        try:
            await self._finished
        finally:
            self._pause_reading()
            await self._drain()

    def terminate(self) -> None:
        """End `run` (from the loop's thread, e.g. a signal handler); the mount stays until `close`."""
        self._finish()

    def _finish(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._pause_reading()  # no request is read after this
            self._finished.set_result(None)

    async def _drain(self) -> None:
        """Let requests in flight finish (lock waits are cancelled: they may never end)."""
        for task in self._lock_waits.values():
            task.cancel()
        pending = set(self._requests.values()) | set(self._lock_waits.values()) | self._forgets
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=self.limits.drain_timeout_s)
        if late:
            logger.warning("%d requests still running %.0f s after the session ended: cancelled", len(late),
                           self.limits.drain_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.wait(late)

    # ---- reading ------------------------------------------------------------------------
    def _resume_reading(self) -> None:
        if not self._reading and not self._finished.done():
            self._loop.add_reader(self.fd, self._on_readable)
            self._reading = True

    def _pause_reading(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.fd)
            self._reading = False

    def _on_readable(self) -> None:
        for _ in range(self.limits.reads_per_wakeup_max):
            if len(self._requests) >= self.limits.requests_max:
                self._pause_reading()  # resumed when a request ends
                return
            buffer = self._buffers.acquire()
            try:
                length = os.readv(self.fd, [buffer])
            except (BlockingIOError, InterruptedError):
                self._buffers.release(buffer)
                return
            except OSError as error:
                self._buffers.release(buffer)
                if error.errno == errno.ENOENT:  # the request was interrupted before we read it
                    continue
                if error.errno == errno.ENODEV:
                    logger.debug("fd %d: the file system was unmounted", self.fd)
                else:
                    logger.error("reading /dev/fuse failed: %s", error)
                self._finish()
                return
            if length == 0:
                self._buffers.release(buffer)
                self._finish()
                return
            self._dispatch(buffer, length)
            if self._finished.done():
                return

    def _dispatch(self, buffer: bytearray, length: int) -> None:
        """Decode one request and answer it, or start its task; the buffer is released here
        unless the request is a WRITE (then `_serve` releases it)."""
        if length < IN_HEADER.size:
            logger.error("a %d-byte request is shorter than fuse_in_header: dropped", length)
            self._buffers.release(buffer)
            return
        declared, opcode, unique, nodeid, uid, gid, pid, extension_words, _ = IN_HEADER.unpack_from(buffer)
        end = min(declared, length) - extension_words * 8  # extensions: none negotiated, ignored
        request = Request(unique, opcode, nodeid, uid, gid, pid, b"")
        lending = False
        if opcode == Opcode.WRITE and end >= _WRITE_PAYLOAD_START:
            request.body = bytes(memoryview(buffer)[IN_HEADER.size:_WRITE_PAYLOAD_START])
            request.payload = self._buffers.view(buffer, _WRITE_PAYLOAD_START, end)
            lending = isinstance(request.payload, memoryview)
        else:
            request.body = bytes(memoryview(buffer)[IN_HEADER.size:max(end, IN_HEADER.size)])
        if self.debug:
            logger.debug("unique %d: %s nodeid %d pid %d (%d bytes)", unique, _opcode_name(opcode), nodeid, pid,
                         length)
        handler = self._route(request)
        if handler is None:
            request.payload = None
            self._buffers.release(buffer, lending=lending)
            return
        task = self._loop.create_task(self._serve(handler, request, buffer if lending else None))
        if not lending:
            self._buffers.release(buffer)
        waits = self._lock_waits if opcode == Opcode.SETLKW else self._requests
        waits[unique] = task

    def _route(self, request: Request) -> Handler | None:
        """The handler to run as a task, or None if the request was answered (or needs no answer)."""
        opcode = request.opcode
        if opcode == Opcode.INIT:
            self._init(request)
            return None
        if self.connection is None:
            logger.error("%s before INIT: EIO", _opcode_name(opcode))
            self._reply_error(request, errno.EIO)
            return None
        if opcode in _NO_REPLY:
            self._no_reply(request)
            return None
        if opcode == Opcode.DESTROY:
            self.destroyed = True
            self._reply(request, None)
            return None
        if opcode == Opcode.SETLKW and len(self._lock_waits) >= self.limits.lock_waits_max:
            self._reply_error(request, errno.ENOLCK)
            return None
        handler = HANDLERS.get(opcode)
        if handler is None:
            if opcode not in self._unknown_logged and len(self._unknown_logged) < _UNKNOWN_LOGGED_MAX:
                self._unknown_logged.add(opcode)
                logger.info("opcode %s is not implemented: ENOSYS", _opcode_name(opcode))
            self._reply_error(request, errno.ENOSYS)
        return handler

    async def _serve(self, handler: Handler, request: Request, buffer: bytearray | None) -> None:
        try:
            body = await handler(self, request)
        except FUSEError as error:
            self._reply_error(request, error.errno)
        except asyncio.CancelledError:
            self._reply_error(request, errno.EINTR)  # interrupted (a lock wait) or the session ended
        except MalformedRequest as error:
            logger.warning("unique %d: malformed %s request: %s", request.unique, _opcode_name(request.opcode), error)
            self._reply_error(request, errno.EINVAL)
        except Exception:
            logger.exception("%s (unique %d, nodeid %d) failed", _opcode_name(request.opcode), request.unique,
                             request.nodeid)
            self._reply_error(request, errno.EIO)
        else:
            self._reply(request, body)
            del body
        finally:
            request.payload = None
            waits = self._lock_waits if request.opcode == Opcode.SETLKW else self._requests
            waits.pop(request.unique, None)
            if buffer is not None:
                self._buffers.release(buffer, lending=True)
            if not self._reading and len(self._requests) < self.limits.requests_max:
                self._resume_reading()

    # ---- requests the session answers itself -------------------------------------------------
    def _init(self, request: Request) -> None:
        try:
            result = negotiate(request.body, self.capabilities, self.limits)
        except Exception:
            logger.exception("INIT failed")
            self._reply_error(request, errno.EPROTO)
            self._finish()
            return
        if result.error:
            self._reply_error(request, result.error)
            self._finish()
            return
        if result.connection is not None:
            self.connection = result.connection
            logger.debug("FUSE %d.%d, flags %#x, max_write %d", 7, self.connection.minor, self.connection.flags,
                         self.connection.max_write)
            try:
                self.operations.init()
            except Exception:  # noqa: BLE001 - pyfuse3's contract: init must not raise
                logger.exception("operations.init() failed")
        self._reply(request, result.body)

    def _no_reply(self, request: Request) -> None:
        self.replies[(_opcode_name(request.opcode), 0)] += 1
        try:
            if request.opcode == Opcode.FORGET:
                (count,) = FORGET_IN.unpack_from(request.body)
                self._forget([(request.nodeid, count)])
            elif request.opcode == Opcode.BATCH_FORGET:
                (count, _) = BATCH_FORGET_IN.unpack_from(request.body)
                self._forget([FORGET_ONE.unpack_from(request.body, BATCH_FORGET_IN.size + index * FORGET_ONE.size)
                              for index in range(count)])
            elif request.opcode == Opcode.INTERRUPT:
                (target,) = INTERRUPT_IN.unpack_from(request.body)
                self._interrupt(target)
        except Exception:  # noqa: BLE001 - nothing to answer; the session goes on
            logger.exception("%s (unique %d) failed", _opcode_name(request.opcode), request.unique)

    def _forget(self, inodes: list[tuple[int, int]]) -> None:
        result = self.operations.forget(inodes)  # pyfuse3 allows a plain function or a coroutine
        if inspect.isawaitable(result):
            task = self._loop.create_task(self._await_forget(result))
            self._forgets.add(task)
            task.add_done_callback(self._forgets.discard)

    @staticmethod
    async def _await_forget(result) -> None:
        try:
            await result
        except Exception:  # noqa: BLE001 - forget has no reply to carry an error
            logger.exception("forget failed")

    def _interrupt(self, unique: int) -> None:
        task = self._lock_waits.get(unique)
        if task is not None:
            logger.debug("unique %d interrupted: cancelling its lock wait", unique)
            task.cancel()
        # other requests run to their end (as with pyfuse3); an unknown one already ended

    # ---- replies ---------------------------------------------------------------------------
    def _reply_error(self, request: Request, code: int) -> None:
        if not 0 < code <= ERRNO_MAX:
            logger.error("%s answered with errno %r: sent as EIO", _opcode_name(request.opcode), code)
            code = errno.EIO
        self._send(request, -code, ())

    def _reply(self, request: Request, body) -> None:
        if body is None:
            parts = ()
        elif isinstance(body, tuple):
            parts = body
        else:
            parts = (body,)
        self._send(request, 0, parts)

    def _send(self, request: Request, error: int, parts: tuple) -> None:
        self.replies[(_opcode_name(request.opcode), -error)] += 1
        length = OUT_HEADER.size + sum(len(part) for part in parts)
        header = OUT_HEADER.pack(length, error, request.unique)
        if self.debug:
            logger.debug("unique %d: %s -> %s", request.unique, _opcode_name(request.opcode),
                         f"error {-error}" if error else f"{length} bytes")
        try:
            if parts and length <= 4096:
                os.write(self.fd, header + b"".join(parts))
            else:
                os.writev(self.fd, (header, *parts))
        except OSError as failure:
            if failure.errno == errno.ENOENT:  # interrupted or aborted meanwhile: nobody waits
                logger.debug("unique %d: reply dropped, the request is gone", request.unique)
            elif failure.errno == errno.ENODEV:
                logger.debug("unique %d: reply dropped, unmounted", request.unique)
            else:
                logger.error("reply to %s (unique %d, %d bytes) refused: %s", _opcode_name(request.opcode),
                             request.unique, length, failure)

    def notify(self, code: int, *parts) -> None:
        """Send an unsolicited notification (unique 0, `code` in the error field).

        Raises:
            OSError: the kernel refused it (e.g. ENOENT: no such inode or entry cached).
        """
        length = OUT_HEADER.size + sum(len(part) for part in parts)
        os.writev(self.fd, (OUT_HEADER.pack(length, code, 0), *parts))


def _with_requests_max(limits: SessionLimits, requests_max: int) -> SessionLimits:
    return dataclasses.replace(limits, requests_max=requests_max)
