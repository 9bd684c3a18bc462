"""A service's copy of the user table: checks the tokens of incoming connections.

Metadata and storage services authenticate each framed-RPC connection once
(`fs3.net.server`), against this copy rather than with a call to the cluster
manager. The node agent refreshes it whenever a heartbeat reply names a newer
users version (so a removed user or rotated token stops working within about
a heartbeat); a token it does not know waits for one refresh first, so a user
added a moment ago can connect at once. Such refreshes start at most every
`refresh_min_s` (a miss sooner waits for the next one) and are shared by every
miss waiting, so forged tokens cannot flood the cluster manager, and each
costs its sender up to `refresh_min_s`. While the cluster manager is
unreachable the last copy keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Identity
from fs3.mgmtd.client import MgmtdClient
from fs3.tokens import TOKEN_CHARS_MAX, token_digest

__all__ = ["UserTable"]

logger = logging.getLogger(__name__)


class UserTable:
    """Token digest -> Identity, as of the cluster manager's users version `version` (0: never loaded).

    Implements `fs3.net.server.Authenticator`.
    """

    def __init__(self, mgmtd: MgmtdClient, *, refresh_min_s: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        assert refresh_min_s > 0
        self._mgmtd = mgmtd
        self._refresh_min_s = refresh_min_s
        self._monotonic = monotonic
        self.version = 0
        self._identities: dict[bytes, Identity] = {}
        self._refresh_lock = asyncio.Lock()
        self._refreshed_at: float | None = None
        self._miss_refresh: asyncio.Task | None = None  # the refresh every unknown token waits for

    async def refresh(self) -> bool:
        """Fetch the table if it changed; returns whether it did."""
        async with self._refresh_lock:
            table = await self._mgmtd.get_user_table(self.version)
            self._refreshed_at = self._monotonic()
            if table is None:
                return False
            version, entries = table
            self._identities = dict(entries)
            self.version = version
            logger.info("user table version %d: %d users", version, len(entries))
            return True

    def identity_of(self, digest: bytes) -> Identity | None:
        return self._identities.get(digest)

    async def authenticate(self, token: str) -> tuple[bytes, Identity]:
        """Raises:
            Fs3Error: UNAUTHENTICATED for a missing or unknown token; UNAVAILABLE
                if the table was never loaded and the cluster manager cannot be reached.
        """
        if not token or len(token) > TOKEN_CHARS_MAX:
            raise Fs3Error(StatusCode.UNAUTHENTICATED, "no token")
        digest = token_digest(token)
        identity = self._identities.get(digest)
        if identity is None:
            await self._refresh_for_unknown_token()
            identity = self._identities.get(digest)
        if identity is None:
            raise Fs3Error(StatusCode.UNAUTHENTICATED, "unknown token (removed user or rotated token?)")
        return digest, identity

    async def _refresh_for_unknown_token(self) -> None:
        if self._miss_refresh is None:
            self._miss_refresh = asyncio.get_running_loop().create_task(self._refresh_when_allowed())
        try:
            await asyncio.shield(self._miss_refresh)
        except Fs3Error as error:
            if self.version == 0 and not self._identities:
                raise Fs3Error(StatusCode.UNAVAILABLE, f"user table not loaded yet: {error.message}") from None
            logger.warning("user table refresh failed, keeping version %d: %s", self.version, error)

    async def _refresh_when_allowed(self) -> None:
        try:
            if self._refreshed_at is not None:
                delay_s = self._refreshed_at + self._refresh_min_s - self._monotonic()
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
            await self.refresh()
        finally:
            self._refreshed_at = self._monotonic()  # also after a failure: the next attempt waits too
            self._miss_refresh = None
