"""The user table: who may call the cluster, kept in the cluster manager's KV store.

Each user has a name, a uid, a gid, supplementary groups, the flags `admin`
and `root` (see `fs3.identity`) and one token, of which only the SHA-256 is
stored. The primary cluster manager holds the table in memory and writes every
change through a fenced transaction, so a new primary continues with exactly
the users its predecessor committed.

Keys:
    MGMT/users/<name>    JSON record
    MGMT/users_version   8-byte little-endian counter, bumped in the same
                         transaction as every change: services compare it
                         with their copy (`fs3.mgmtd.user_table`).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import re
import struct
import time
from typing import Awaitable, Callable

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Identity
from fs3.kv import KvEngine, Transaction, prefix_range, run_transaction
from fs3.tokens import new_token, token_digest

__all__ = ["UserStore", "UserRecord", "ROOT_USER_NAME", "GROUPS_PER_USER_MAX"]

logger = logging.getLogger(__name__)

_USER_PREFIX = b"MGMT/users/"
_VERSION_KEY = b"MGMT/users_version"
_VERSION = struct.Struct("<Q")
_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_ID_MAX = (1 << 32) - 2  # uid/gid 2**32-1 is (uid_t)-1, "no change" to chown
GROUPS_PER_USER_MAX = 256
ROOT_USER_NAME = "root"


@dataclasses.dataclass(frozen=True, slots=True)
class UserRecord:
    identity: Identity
    token_sha256: bytes
    created_ms: int

    def to_json(self) -> bytes:
        identity = self.identity
        return json.dumps({
            "name": identity.name, "uid": identity.uid, "gid": identity.gid, "groups": list(identity.groups),
            "admin": identity.admin, "root": identity.root, "token_sha256": self.token_sha256.hex(),
            "created_ms": self.created_ms,
        }, sort_keys=True).encode()

    @classmethod
    def from_json(cls, blob: bytes) -> "UserRecord":
        data = json.loads(blob)
        identity = Identity(name=data["name"], uid=data["uid"], gid=data["gid"], groups=tuple(data["groups"]),
                            admin=data["admin"], root=data["root"])
        return cls(identity, bytes.fromhex(data["token_sha256"]), data["created_ms"])


def _user_key(name: str) -> bytes:
    return _USER_PREFIX + name.encode()


def _check_new_user(name: str, uid: int, gid: int, groups: tuple[int, ...]) -> None:
    if not _NAME_PATTERN.fullmatch(name):
        raise Fs3Error(StatusCode.BAD_REQUEST,
                       f"user name {name!r} must be 1-64 letters, digits, '_', '.', '-', starting with a letter or '_'")
    for label, value in (("uid", uid), ("gid", gid)):
        if not 0 <= value <= _ID_MAX:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"{label} {value} not in 0..{_ID_MAX}")
    if len(groups) > GROUPS_PER_USER_MAX:
        raise Fs3Error(StatusCode.BAD_REQUEST, f"{len(groups)} groups exceed {GROUPS_PER_USER_MAX}")
    for group in groups:
        if not 0 <= group <= _ID_MAX:
            raise Fs3Error(StatusCode.BAD_REQUEST, f"group {group} not in 0..{_ID_MAX}")


class UserStore:
    """The primary's user table. Not thread-safe: used from one event loop.

    Args:
        fence: checks, inside every write, that this instance still holds the primary lease.
        users_max: most users the table holds (every service keeps a copy).
    """

    def __init__(
        self,
        engine: KvEngine,
        *,
        fence: Callable[[Transaction], Awaitable[None]] | None = None,
        users_max: int = 10_000,
        wall_clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        assert users_max >= 1
        self.engine = engine
        self._fence = fence
        self.users_max = users_max
        self._wall_clock_ms = wall_clock_ms
        self.version = 0  # 0: empty and never changed
        self._by_name: dict[str, UserRecord] = {}
        self._by_digest: dict[bytes, Identity] = {}

    # ---- reading --------------------------------------------------------------
    async def load(self) -> None:
        async def read(txn: Transaction) -> tuple[bytes | None, list]:
            return await txn.get(_VERSION_KEY), await txn.get_range(*prefix_range(_USER_PREFIX))

        version, rows = await run_transaction(self.engine, read)
        self._by_name = {}
        for row in rows:
            record = UserRecord.from_json(row.value)
            self._by_name[record.identity.name] = record
        self._by_digest = {record.token_sha256: record.identity for record in self._by_name.values()}
        self.version = 0 if version is None else _VERSION.unpack(version)[0]
        logger.info("loaded %d users (users version %d)", len(self._by_name), self.version)

    def identity_of_token(self, token: str) -> Identity | None:
        return self._by_digest.get(token_digest(token))

    def get(self, name: str) -> UserRecord | None:
        return self._by_name.get(name)

    def records(self) -> list[UserRecord]:
        return sorted(self._by_name.values(), key=lambda record: record.identity.name)

    # ---- changes --------------------------------------------------------------
    async def add(self, name: str, uid: int, gid: int, groups: tuple[int, ...] = (), *, admin: bool = False,
                  root: bool = False, token: str | None = None) -> tuple[UserRecord, str]:
        """Add a user with a new token (or `token`); returns the record and the token.

        Raises:
            Fs3Error: BAD_REQUEST for an invalid name or ids, EEXIST if the name
                is taken, ENOSPC past users_max, NOT_PRIMARY if deposed.
        """
        groups = tuple(dict.fromkeys(groups))
        _check_new_user(name, uid, gid, groups)
        token = token or new_token()
        record = UserRecord(Identity(name, uid, gid, groups, admin, root), token_digest(token), self._wall_clock_ms())

        async def body(txn: Transaction) -> int:
            if await txn.get(_user_key(name)) is not None:
                raise Fs3Error(errno.EEXIST, f"user {name} exists")
            if len(self._by_name) >= self.users_max:
                raise Fs3Error(errno.ENOSPC, f"the user table is full ({self.users_max} users)")
            txn.set(_user_key(name), record.to_json())
            return await self._bump_version(txn)

        self._apply(await self._write(body), name, record)
        logger.info("added user %s (uid %d, admin %s, root %s)", name, uid, admin, root)
        return record, token

    async def remove(self, name: str) -> None:
        """Raises:
            Fs3Error: ENOENT for an unknown user, EPERM for the last admin.
        """
        existing = self._require(name)
        if existing.identity.admin and sum(1 for r in self._by_name.values() if r.identity.admin) == 1:
            raise Fs3Error(errno.EPERM, f"{name} is the last admin; add another admin first")

        async def body(txn: Transaction) -> int:
            if await txn.get(_user_key(name)) is None:
                raise Fs3Error(errno.ENOENT, f"no user {name}")
            txn.clear(_user_key(name))
            return await self._bump_version(txn)

        self._apply(await self._write(body), name, None)
        logger.info("removed user %s", name)

    async def rotate_token(self, name: str) -> tuple[UserRecord, str]:
        """Give a user a new token; the old one stops working everywhere."""
        existing = self._require(name)
        token = new_token()
        record = dataclasses.replace(existing, token_sha256=token_digest(token))

        async def body(txn: Transaction) -> int:
            if await txn.get(_user_key(name)) is None:
                raise Fs3Error(errno.ENOENT, f"no user {name}")
            txn.set(_user_key(name), record.to_json())
            return await self._bump_version(txn)

        self._apply(await self._write(body), name, record)
        logger.info("rotated the token of user %s", name)
        return record, token

    async def bootstrap(self, token: str) -> bool:
        """With no users at all: create `root` (admin and root) with `token`. Returns whether it did."""
        if self._by_name:
            return False
        record = UserRecord(Identity(ROOT_USER_NAME, 0, 0, (), admin=True, root=True), token_digest(token),
                            self._wall_clock_ms())

        async def body(txn: Transaction) -> int | None:
            if await txn.get_range(*prefix_range(_USER_PREFIX), limit=1):
                return None  # someone else bootstrapped first
            txn.set(_user_key(ROOT_USER_NAME), record.to_json())
            return await self._bump_version(txn)

        version = await self._write(body)
        if version is None:
            await self.load()
            return False
        self._apply(version, ROOT_USER_NAME, record)
        logger.warning("created user %s from the bootstrap token", ROOT_USER_NAME)
        return True

    # ---- internals ------------------------------------------------------------
    def _require(self, name: str) -> UserRecord:
        record = self._by_name.get(name)
        if record is None:
            raise Fs3Error(errno.ENOENT, f"no user {name}")
        return record

    async def _bump_version(self, txn: Transaction) -> int:
        raw = await txn.get(_VERSION_KEY)
        version = (0 if raw is None else _VERSION.unpack(raw)[0]) + 1
        txn.set(_VERSION_KEY, _VERSION.pack(version))
        return version

    async def _write(self, body):
        async def fenced(txn: Transaction):
            if self._fence is not None:
                await self._fence(txn)
            return await body(txn)

        return await run_transaction(self.engine, fenced)

    def _apply(self, version: int, name: str, record: UserRecord | None) -> None:
        """Mirror a committed change in memory."""
        previous = self._by_name.pop(name, None)
        if previous is not None:
            self._by_digest.pop(previous.token_sha256, None)
        if record is not None:
            self._by_name[name] = record
            self._by_digest[record.token_sha256] = record.identity
        self.version = max(self.version, version)
