"""Extended attributes: `XATT + inode + name -> u8 format | value`, and Linux's checks.

Namespaces as Linux's xattr_permission: `user.` needs read (get) or write
(set/remove) permission and exists only on regular files and directories;
`trusted.` is root's (others: EPERM to set, ENODATA to get, hidden from
listings); `security.` has no VFS checks; `system.` (ACLs) is not
supported (EOPNOTSUPP), nor is a name in no namespace.
"""

from __future__ import annotations

import errno

from fs3.errors import fs_error
from fs3.kv.interface import Transaction
from fs3.meta.config import MetaConfig
from fs3.meta.store import keys
from fs3.meta.store.permission import MAY_READ, MAY_WRITE, STICKY_BIT, check_access, is_owner_or_root
from fs3.meta.types import Inode, InodeType, UserInfo

__all__ = ["check_xattr_name", "check_xattr_access", "load_xattr", "store_xattr", "remove_xattr",
           "list_xattr_names", "visible_to"]

_FORMAT = 1
USER_PREFIX = b"user."
TRUSTED_PREFIX = b"trusted."
SECURITY_PREFIX = b"security."
SYSTEM_PREFIX = b"system."
_SUPPORTED = (USER_PREFIX, TRUSTED_PREFIX, SECURITY_PREFIX)


def check_xattr_name(name: bytes, config: MetaConfig) -> None:
    """Raises: Fs3Error ERANGE (empty or longer than XATTR_NAME_MAX), EINVAL
    (NUL, or only a namespace prefix), EOPNOTSUPP (system. or no namespace)."""
    if not name or len(name) > config.xattr_name_bytes_max:
        raise fs_error(errno.ERANGE, f"xattr name of {len(name)} bytes")
    if b"\x00" in name:
        raise fs_error(errno.EINVAL, "xattr name contains NUL")
    for prefix in _SUPPORTED:
        if name.startswith(prefix):
            if name == prefix:
                raise fs_error(errno.EINVAL, f"xattr name {name!r} is only a namespace")
            return
    raise fs_error(errno.EOPNOTSUPP, f"xattr namespace of {name[:32]!r} is not supported")


def check_xattr_access(user: UserInfo, inode: Inode, name: bytes, want: int) -> None:
    """Linux's xattr_permission for `want` MAY_READ (get) or MAY_WRITE (set, remove)."""
    assert want in (MAY_READ, MAY_WRITE)
    if name.startswith(TRUSTED_PREFIX):
        if user.uid != 0:
            raise fs_error(errno.EPERM if want == MAY_WRITE else errno.ENODATA, f"{name!r} is root's")
        return
    if not name.startswith(USER_PREFIX):
        return
    if inode.inode_type not in (InodeType.FILE, InodeType.DIRECTORY):
        raise fs_error(errno.EPERM if want == MAY_WRITE else errno.ENODATA,
                       f"user xattrs only on files and directories, not inode {inode.inode_id}")
    if inode.is_directory and inode.mode & STICKY_BIT and want == MAY_WRITE and not is_owner_or_root(user, inode):
        raise fs_error(errno.EPERM, f"sticky directory {inode.inode_id}: only its owner sets user xattrs")
    check_access(user, inode, want, "(xattr)")


def visible_to(user: UserInfo, name: bytes) -> bool:
    return user.uid == 0 or not name.startswith(TRUSTED_PREFIX)


async def load_xattr(txn: Transaction, inode_id: int, name: bytes) -> bytes | None:
    value = await txn.get(keys.xattr_key(inode_id, name))
    if value is None:
        return None
    assert value[0] == _FORMAT, f"unknown xattr format {value[0]}"
    return bytes(value[1:])


def store_xattr(txn: Transaction, inode_id: int, name: bytes, value: bytes) -> None:
    txn.set(keys.xattr_key(inode_id, name), bytes([_FORMAT]) + value)


def remove_xattr(txn: Transaction, inode_id: int, name: bytes) -> None:
    txn.clear(keys.xattr_key(inode_id, name))


async def list_xattr_names(txn: Transaction, inode_id: int, *, limit: int) -> list[bytes]:
    begin, end = keys.xattr_range(inode_id)
    return [keys.xattr_name(row.key) for row in await txn.get_range(begin, end, limit=limit)]
