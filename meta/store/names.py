"""Validation of names and paths (POSIX errors, Linux choices)."""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.meta.config import MetaConfig

__all__ = ["DOT_NAMES", "check_name", "check_path", "check_symlink_target", "split_path"]

DOT_NAMES = (b".", b"..")


def check_name(name: bytes, config: MetaConfig) -> None:
    """A single directory-entry name (not a path).

    Raises:
        Fs3Error: ENOENT if empty, EINVAL if it holds '/' or NUL,
            ENAMETOOLONG past name_bytes_max.
    """
    if not name:
        raise fs_error(errno.ENOENT, "empty name")
    if b"/" in name:
        raise fs_error(errno.EINVAL, f"name {name!r} contains '/'")
    if b"\x00" in name:
        raise fs_error(errno.EINVAL, f"name {name!r} contains NUL")
    if len(name) > config.name_bytes_max:
        raise fs_error(errno.ENAMETOOLONG, f"name of {len(name)} bytes > {config.name_bytes_max}")


def check_path(path: bytes, config: MetaConfig) -> None:
    """A whole path: non-empty, no NUL, within PATH_MAX, each component within NAME_MAX."""
    if not path:
        raise fs_error(errno.ENOENT, "empty path")
    if b"\x00" in path:
        raise fs_error(errno.EINVAL, f"path {path[:64]!r} contains NUL")
    if len(path) > config.path_bytes_max:
        raise fs_error(errno.ENAMETOOLONG, f"path of {len(path)} bytes > {config.path_bytes_max}")
    for component in path.split(b"/"):
        if len(component) > config.name_bytes_max:
            raise fs_error(
                errno.ENAMETOOLONG, f"path component of {len(component)} bytes > {config.name_bytes_max}"
            )


def check_symlink_target(target: bytes, config: MetaConfig) -> None:
    """A symlink's content: any bytes but NUL within PATH_MAX. Its components may be longer
    than NAME_MAX (as on Linux): they only matter when a path walk follows the link.

    Raises:
        Fs3Error: ENOENT if empty, EINVAL for NUL, ENAMETOOLONG past path_bytes_max.
    """
    if not target:
        raise fs_error(errno.ENOENT, "empty symlink target")
    if b"\x00" in target:
        raise fs_error(errno.EINVAL, f"symlink target {target[:64]!r} contains NUL")
    if len(target) > config.path_bytes_max:
        raise fs_error(errno.ENAMETOOLONG, f"symlink target of {len(target)} bytes > {config.path_bytes_max}")


def split_path(path: bytes) -> list[bytes]:
    """The non-empty components of `path` ("a//b/" -> [a, b])."""
    return [component for component in path.split(b"/") if component]
