"""Tokens: making them, hashing them, keeping them in files, finding the caller's.

A token is `fs3_` plus 32 random bytes (URL-safe base64). It is shown once when
made; the cluster manager keeps only its SHA-256 (`token_digest`), which is
safe without a salt because the secret is random, not chosen by a person.

`resolve_token` is how every client finds its token, first match wins:

1. the token passed in (`--token` on the command line);
2. the `FS3_TOKEN` environment variable;
3. the file named by `FS3_TOKEN_FILE`;
4. the local cluster's token file, `<FS3_LOCAL_DIR or ~/.fs3/local>/admin.token`
   (written by `fs3 local up`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from fs3.errors import Fs3Error, StatusCode

__all__ = [
    "LOCAL_TOKEN_FILE_NAME",
    "new_token",
    "token_digest",
    "read_token_file",
    "write_token_file",
    "local_cluster_token_file",
    "resolve_token",
    "service_token",
]

TOKEN_PREFIX = "fs3_"
TOKEN_RANDOM_BYTES = 32
TOKEN_CHARS_MAX = 256  # anything longer is not a token of ours: refused before hashing
LOCAL_TOKEN_FILE_NAME = "admin.token"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def token_digest(token: str) -> bytes:
    """The SHA-256 the cluster manager stores and services look tokens up by."""
    return hashlib.sha256(token.encode()).digest()


def read_token_file(path: str | os.PathLike) -> str:
    """The token in a file (surrounding whitespace ignored).

    Raises:
        Fs3Error(UNAUTHENTICATED): the file is missing, unreadable or empty.
    """
    try:
        token = Path(path).read_text().strip()
    except OSError as error:
        raise Fs3Error(StatusCode.UNAUTHENTICATED, f"cannot read token file {path}: {error.strerror}") from None
    if not token:
        raise Fs3Error(StatusCode.UNAUTHENTICATED, f"token file {path} is empty")
    return token


def write_token_file(path: str | os.PathLike, token: str) -> None:
    """Write a token readable by its owner only (0600), atomically."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an older file of that name may have kept a wider mode
        os.write(descriptor, (token + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def local_cluster_token_file() -> Path:
    """Where `fs3 local up` keeps the local cluster's admin token."""
    folder = os.environ.get("FS3_LOCAL_DIR") or str(Path.home() / ".fs3" / "local")
    return Path(folder) / LOCAL_TOKEN_FILE_NAME


def resolve_token(token: str | None = None) -> str:
    """The caller's token: `token`, else FS3_TOKEN, FS3_TOKEN_FILE, the local cluster's file.

    Raises:
        Fs3Error(UNAUTHENTICATED): none of them gives a token.
    """
    if token:
        return token
    from_environment = os.environ.get("FS3_TOKEN", "").strip()
    if from_environment:
        return from_environment
    token_file = os.environ.get("FS3_TOKEN_FILE", "").strip()
    if token_file:
        return read_token_file(token_file)
    local = local_cluster_token_file()
    if local.exists():
        return read_token_file(local)
    raise Fs3Error(
        StatusCode.UNAUTHENTICATED,
        f"no token: pass --token, set FS3_TOKEN or FS3_TOKEN_FILE, or use a local cluster (token file {local})",
    )


def service_token(token_file: str) -> str:
    """A service's own token, from its config's `token_file`.

    Raises:
        Fs3Error(UNAUTHENTICATED): no token file configured, or it has no token.
    """
    if not token_file:
        raise Fs3Error(StatusCode.UNAUTHENTICATED,
                       "token_file is not set: a service needs the token of a user with the root flag")
    return read_token_file(token_file)
