"""Goal: permission checks follow Linux generic_permission (owner, group, other, root)."""

from fs3.meta.store.permission import MAY_EXEC, MAY_READ, MAY_WRITE, has_access
from fs3.meta.types import Inode, InodeType, UserInfo


def inode(mode: int, inode_type: InodeType = InodeType.FILE, uid: int = 10, gid: int = 20) -> Inode:
    return Inode(inode_id=5, inode_type=inode_type, mode=mode, uid=uid, gid=gid, nlink=1)


def test_owner_bits_apply_to_owner_even_if_group_would_allow() -> None:
    owner = UserInfo(uid=10, gid=20)
    assert not has_access(owner, inode(0o070), MAY_READ)
    assert has_access(owner, inode(0o400), MAY_READ)


def test_group_and_supplementary_groups() -> None:
    assert has_access(UserInfo(uid=11, gid=20), inode(0o040), MAY_READ)
    assert has_access(UserInfo(uid=11, gid=99, groups=(20,)), inode(0o040), MAY_READ)
    assert not has_access(UserInfo(uid=11, gid=99, groups=(20,)), inode(0o004), MAY_READ)


def test_other_bits() -> None:
    stranger = UserInfo(uid=11, gid=99)
    assert has_access(stranger, inode(0o006), MAY_READ | MAY_WRITE)
    assert not has_access(stranger, inode(0o004), MAY_READ | MAY_WRITE)


def test_root_overrides_rw_and_dir_search_but_not_exec_without_any_x() -> None:
    root = UserInfo(uid=0, gid=0)
    assert has_access(root, inode(0o000), MAY_READ | MAY_WRITE)
    assert has_access(root, inode(0o000, InodeType.DIRECTORY), MAY_EXEC)
    assert not has_access(root, inode(0o644), MAY_EXEC)
    assert has_access(root, inode(0o001), MAY_EXEC)
