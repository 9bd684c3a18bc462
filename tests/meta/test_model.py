"""Goal: the metadata operations behave like a plain POSIX tree.

Method: a hypothesis RuleBasedStateMachine drives mkdir/create/mknod (FIFO)/
unlink/rmdir/rename (with RENAME_NOREPLACE/RENAME_EXCHANGE)/readdir/stat,
chmod, chown, truncate, symlink/readlink, link and the xattr calls on a
MetaOperator over the memory KV and on a reference model (inodes with
kinds, modes, owners, lengths, link counts, xattrs and named children),
comparing results and errnos after every step and the whole tree (kinds,
modes, owners, lengths, link counts, '..' fields) as an invariant. The model encodes Linux's order of checks for the root user.
Symlink targets are "/", "." and "..": they always resolve to a directory,
so following them is well defined and never dangles.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import stat

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fs3.errors import Fs3Error
from fs3.meta import SetAttributes
from fs3.meta.flags import O_CREAT, O_EXCL, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE, XATTR_CREATE, XATTR_REPLACE

from tests.meta.helpers import ROOT, new_operator, path

Path = tuple[bytes, ...]
NAMES = [b"a", b"b", b"c"]
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(tuple)
XATTR_NAMES = [b"user.x", b"user.y"]
SYMLINK_TARGETS = [b"/", b".", b".."]
ROOT_ID = 0


class ModelError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


@dataclasses.dataclass
class Node:
    kind: str  # "dir", "file", "symlink", "fifo"
    mode: int
    uid: int = 0
    gid: int = 0
    length: int = 0  # files only
    parent: int = ROOT_ID  # directories only
    nlink: int = 1  # non-directories only
    target: bytes = b""
    children: dict[bytes, int] = dataclasses.field(default_factory=dict)
    xattrs: dict[bytes, bytes] = dataclasses.field(default_factory=dict)


class TreeModel:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {ROOT_ID: Node("dir", 0o755)}
        self.next_id = 1

    def _new(self, node: Node) -> int:
        self.next_id += 1
        self.nodes[self.next_id] = node
        return self.next_id

    def _follow(self, directory: int, symlink: Node) -> int:
        if symlink.target == b"/":
            return ROOT_ID
        if symlink.target == b".":
            return directory
        return self.nodes[directory].parent

    def walk_parent(self, target: Path) -> int:
        """The directory holding target[-1] (intermediate symlinks followed)."""
        current = ROOT_ID
        for name in target[:-1]:
            child = self.nodes[current].children.get(name)
            if child is None:
                raise ModelError(errno.ENOENT)
            node = self.nodes[child]
            if node.kind == "symlink":
                current = self._follow(current, node)
            elif node.kind == "dir":
                current = child
            else:
                raise ModelError(errno.ENOTDIR)
        return current

    def lookup(self, target: Path, follow: bool) -> tuple[int, int | None]:
        """(parent directory, inode id or None)."""
        parent = self.walk_parent(target)
        child = self.nodes[parent].children.get(target[-1])
        if child is not None and follow and self.nodes[child].kind == "symlink":
            child = self._follow(parent, self.nodes[child])
        return parent, child

    def existing(self, target: Path, follow: bool = True) -> int:
        _parent, child = self.lookup(target, follow)
        if child is None:
            raise ModelError(errno.ENOENT)
        return child

    def children(self, directory: int) -> list[bytes]:
        return sorted(self.nodes[directory].children)

    def _drop(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.kind == "dir":
            del self.nodes[node_id]
            return
        node.nlink -= 1
        if node.nlink == 0:
            del self.nodes[node_id]

    def _is_ancestor(self, candidate: int, directory: int) -> bool:
        while True:
            if directory == candidate:
                return True
            if directory == ROOT_ID:
                return False
            directory = self.nodes[directory].parent

    def _new_gid(self, parent: int) -> int:
        """A new node's group: the parent's if the parent has the setgid bit, else the caller's (root)."""
        node = self.nodes[parent]
        return node.gid if node.mode & 0o2000 else 0

    # ---- operations -----------------------------------------------------------
    def mkdir(self, target: Path) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is not None:
            raise ModelError(errno.EEXIST)
        # A directory made inside a setgid directory inherits the setgid bit (POSIX/Linux).
        inherited = self.nodes[parent].mode & 0o2000
        self.nodes[parent].children[target[-1]] = self._new(Node("dir", 0o755 | inherited, gid=self._new_gid(parent),
                                                                 parent=parent))

    def create(self, target: Path, exclusive: bool) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is not None:
            if exclusive:
                raise ModelError(errno.EEXIST)
            if self.nodes[self.existing(target)].kind == "dir":
                raise ModelError(errno.EISDIR)
            return
        self.nodes[parent].children[target[-1]] = self._new(Node("file", 0o644, gid=self._new_gid(parent)))

    def mknod_fifo(self, target: Path) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is not None:
            raise ModelError(errno.EEXIST)
        self.nodes[parent].children[target[-1]] = self._new(Node("fifo", 0o644, gid=self._new_gid(parent)))

    def chown(self, target: Path, uid: int, gid: int) -> None:
        node = self.nodes[self.existing(target)]
        node.uid, node.gid = uid, gid
        if node.kind != "dir":  # root changing owners: Linux keeps setgid only on directories... and drops
            node.mode &= ~0o6000  # setuid/setgid of non-directories (here: no group-exec, so setgid stays off)

    def truncate(self, target: Path, length: int) -> None:
        node = self.nodes[self.existing(target)]
        if node.kind == "dir":
            raise ModelError(errno.EISDIR)
        if node.kind != "file":
            raise ModelError(errno.EINVAL)
        node.length = length

    def symlink(self, target: Path, link_target: bytes) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is not None:
            raise ModelError(errno.EEXIST)
        self.nodes[parent].children[target[-1]] = self._new(Node("symlink", 0o777, gid=self._new_gid(parent),
                                                                 target=link_target))

    def readlink(self, target: Path) -> bytes:
        node = self.nodes[self.existing(target, follow=False)]
        if node.kind != "symlink":
            raise ModelError(errno.EINVAL)
        return node.target

    def link(self, old: Path, new: Path) -> None:
        node_id = self.existing(old, follow=False)
        parent, child = self.lookup(new, follow=False)
        if child is not None:
            raise ModelError(errno.EEXIST)
        if self.nodes[node_id].kind == "dir":
            raise ModelError(errno.EPERM)
        self.nodes[node_id].nlink += 1
        self.nodes[parent].children[new[-1]] = node_id

    def chmod(self, target: Path, mode: int) -> None:
        self.nodes[self.existing(target)].mode = mode

    def _user_xattrs_of(self, target: Path, writing: bool) -> Node:
        """Linux keeps user.* xattrs on files and directories only (EPERM to change, ENODATA to read)."""
        node = self.nodes[self.existing(target)]
        if node.kind not in ("file", "dir"):
            raise ModelError(errno.EPERM if writing else errno.ENODATA)
        return node

    def setxattr(self, target: Path, name: bytes, value: bytes, flags: int) -> None:
        node = self._user_xattrs_of(target, writing=True)
        if flags == XATTR_CREATE and name in node.xattrs:
            raise ModelError(errno.EEXIST)
        if flags == XATTR_REPLACE and name not in node.xattrs:
            raise ModelError(errno.ENODATA)
        node.xattrs[name] = value

    def getxattr(self, target: Path, name: bytes) -> bytes:
        node = self._user_xattrs_of(target, writing=False)
        if name not in node.xattrs:
            raise ModelError(errno.ENODATA)
        return node.xattrs[name]

    def listxattr(self, target: Path) -> list[bytes]:
        return sorted(self.nodes[self.existing(target)].xattrs)

    def removexattr(self, target: Path, name: bytes) -> None:
        node = self._user_xattrs_of(target, writing=True)
        if name not in node.xattrs:
            raise ModelError(errno.ENODATA)
        del node.xattrs[name]

    def unlink(self, target: Path) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is None:
            raise ModelError(errno.ENOENT)
        if self.nodes[child].kind == "dir":
            raise ModelError(errno.EISDIR)
        del self.nodes[parent].children[target[-1]]
        self._drop(child)

    def rmdir(self, target: Path) -> None:
        parent, child = self.lookup(target, follow=False)
        if child is None:
            raise ModelError(errno.ENOENT)
        if self.nodes[child].kind != "dir":
            raise ModelError(errno.ENOTDIR)
        if self.nodes[child].children:
            raise ModelError(errno.ENOTEMPTY)
        del self.nodes[parent].children[target[-1]]
        self._drop(child)

    def stat(self, target: Path) -> str:
        return self.nodes[self.existing(target)].kind

    def readdir(self, target: Path) -> list[bytes]:
        node_id = self.existing(target)
        if self.nodes[node_id].kind != "dir":
            raise ModelError(errno.ENOTDIR)
        return self.children(node_id)

    def rename(self, src: Path, dst: Path, flags: int) -> None:
        src_parent = self.walk_parent(src)
        dst_parent = self.walk_parent(dst)
        src_id = self.nodes[src_parent].children.get(src[-1])
        if src_id is None:
            raise ModelError(errno.ENOENT)
        dst_id = self.nodes[dst_parent].children.get(dst[-1])
        if flags & RENAME_NOREPLACE and dst_id is not None:
            raise ModelError(errno.EEXIST)
        if flags & RENAME_EXCHANGE and dst_id is None:
            raise ModelError(errno.ENOENT)
        src_kind = self.nodes[src_id].kind
        dst_kind = self.nodes[dst_id].kind if dst_id is not None else None
        if src_parent != dst_parent:
            if src_kind == "dir" and self._is_ancestor(src_id, dst_parent):
                raise ModelError(errno.EINVAL)
            if dst_kind == "dir" and self._is_ancestor(dst_id, src_parent):
                raise ModelError(errno.EINVAL if flags & RENAME_EXCHANGE else errno.ENOTEMPTY)
        if src_id == dst_id:
            return
        if dst_id is not None and not flags & RENAME_EXCHANGE:
            if src_kind == "dir" and dst_kind != "dir":
                raise ModelError(errno.ENOTDIR)
            if src_kind != "dir" and dst_kind == "dir":
                raise ModelError(errno.EISDIR)
            if dst_kind == "dir" and self.nodes[dst_id].children:
                raise ModelError(errno.ENOTEMPTY)
        if flags & RENAME_EXCHANGE:
            assert dst_id is not None
            self.nodes[src_parent].children[src[-1]] = dst_id
            if dst_kind == "dir":
                self.nodes[dst_id].parent = src_parent
        else:
            del self.nodes[src_parent].children[src[-1]]
            if dst_id is not None:
                self._drop(dst_id)
        self.nodes[dst_parent].children[dst[-1]] = src_id
        if src_kind == "dir":
            self.nodes[src_id].parent = dst_parent

    def snapshot(self) -> dict[Path, tuple]:
        """Every path reached without following symlinks -> (kind, mode, nlink or 0)."""
        found: dict[Path, tuple] = {}
        pending: list[tuple[Path, int]] = [((), ROOT_ID)]
        while pending:
            prefix, directory = pending.pop()
            for name, child in self.nodes[directory].children.items():
                node = self.nodes[child]
                found[prefix + (name,)] = (node.kind, node.mode, 0 if node.kind == "dir" else node.nlink,
                                           node.uid, node.gid, node.length)
                if node.kind == "dir":
                    pending.append((prefix + (name,), child))
        return found


def text(target: Path) -> bytes:
    return b"/" + b"/".join(target)


_KINDS = {"DIRECTORY": "dir", "FILE": "file", "SYMLINK": "symlink", "FIFO": "fifo"}


class MetadataMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.model = TreeModel()
        self.operator = self.loop.run_until_complete(new_operator())

    def teardown(self) -> None:
        self.loop.close()

    def compare(self, model_call, operator_coroutine):
        try:
            expected = ("ok", model_call())
        except ModelError as error:
            expected = ("error", error.code)
        try:
            actual = ("ok", self.loop.run_until_complete(operator_coroutine))
        except Fs3Error as error:
            actual = ("error", error.code)
        assert expected[0] == actual[0], f"model {expected} vs operator {actual}"
        if expected[0] == "error":
            assert expected[1] == actual[1], f"model errno {expected[1]} vs operator {actual[1]}"
            return None
        return expected[1], actual[1]

    @rule(where=paths)
    def mkdir(self, where: Path) -> None:
        self.compare(lambda: self.model.mkdir(where), self.operator.mkdir(ROOT, path(text(where)), 0o755))

    @rule(where=paths, exclusive=st.booleans())
    def create(self, where: Path, exclusive: bool) -> None:
        flags = O_CREAT | O_WRONLY | (O_EXCL if exclusive else 0)
        self.compare(
            lambda: self.model.create(where, exclusive),
            self.operator.create(ROOT, path(text(where)), 0o644, flags),
        )

    @rule(where=paths)
    def unlink(self, where: Path) -> None:
        self.compare(lambda: self.model.unlink(where), self.operator.unlink(ROOT, path(text(where))))

    @rule(where=paths)
    def rmdir(self, where: Path) -> None:
        self.compare(lambda: self.model.rmdir(where), self.operator.rmdir(ROOT, path(text(where))))

    @rule(src=paths, dst=paths, flags=st.sampled_from([0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE]))
    def rename(self, src: Path, dst: Path, flags: int) -> None:
        self.compare(
            lambda: self.model.rename(src, dst, flags),
            self.operator.rename(ROOT, path(text(src)), path(text(dst)), flags),
        )

    @rule(where=paths)
    def stat(self, where: Path) -> None:
        both = self.compare(lambda: self.model.stat(where), self.operator.stat(ROOT, path(text(where))))
        if both is not None:
            assert _KINDS[both[1].inode_type.name] == both[0]

    @rule(where=paths)
    def readdir(self, where: Path) -> None:
        both = self.compare(lambda: self.model.readdir(where), self.operator.readdir(ROOT, path(text(where))))
        if both is not None:
            assert [entry.name for entry in both[1].entries] == both[0]

    @rule(where=paths, mode=st.sampled_from([0o700, 0o644, 0o755, 0o1777, 0o2750]))
    def chmod(self, where: Path, mode: int) -> None:
        both = self.compare(lambda: self.model.chmod(where, mode),
                            self.operator.setattr(ROOT, path(text(where)), SetAttributes(mode=mode)))
        if both is not None:
            assert both[1].inode.mode & 0o7777 == mode

    @rule(where=paths)
    def mknod_fifo(self, where: Path) -> None:
        self.compare(lambda: self.model.mknod_fifo(where),
                     self.operator.mknod(ROOT, path(text(where)), stat.S_IFIFO | 0o644))

    @rule(where=paths, owner=st.sampled_from([(0, 0), (1000, 1000), (1000, 0)]))
    def chown(self, where: Path, owner: tuple[int, int]) -> None:
        self.compare(lambda: self.model.chown(where, *owner),
                     self.operator.setattr(ROOT, path(text(where)), SetAttributes(uid=owner[0], gid=owner[1])))

    @rule(where=paths, length=st.sampled_from([0, 1, 5000, 3 << 20]))
    def truncate(self, where: Path, length: int) -> None:
        self.compare(lambda: self.model.truncate(where, length),
                     self.operator.setattr(ROOT, path(text(where)), SetAttributes(length=length)))

    @rule(where=paths, link_target=st.sampled_from(SYMLINK_TARGETS))
    def symlink(self, where: Path, link_target: bytes) -> None:
        self.compare(lambda: self.model.symlink(where, link_target),
                     self.operator.symlink(ROOT, path(text(where)), link_target))

    @rule(where=paths)
    def readlink(self, where: Path) -> None:
        both = self.compare(lambda: self.model.readlink(where), self.operator.readlink(ROOT, path(text(where))))
        if both is not None:
            assert both[0] == both[1]

    @rule(old=paths, new=paths)
    def link(self, old: Path, new: Path) -> None:
        both = self.compare(lambda: self.model.link(old, new),
                            self.operator.link(ROOT, path(text(old)), path(text(new))))
        if both is not None:
            assert both[1].nlink == self.model.nodes[self.model.existing(new, follow=False)].nlink

    @rule(where=paths, name=st.sampled_from(XATTR_NAMES), value=st.sampled_from([b"", b"1", b"22"]),
          flags=st.sampled_from([0, XATTR_CREATE, XATTR_REPLACE]))
    def setxattr(self, where: Path, name: bytes, value: bytes, flags: int) -> None:
        self.compare(lambda: self.model.setxattr(where, name, value, flags),
                     self.operator.setxattr(ROOT, path(text(where)), name, value, flags))

    @rule(where=paths, name=st.sampled_from(XATTR_NAMES))
    def getxattr(self, where: Path, name: bytes) -> None:
        both = self.compare(lambda: self.model.getxattr(where, name),
                            self.operator.getxattr(ROOT, path(text(where)), name))
        if both is not None:
            assert both[0] == both[1]

    @rule(where=paths)
    def listxattr(self, where: Path) -> None:
        both = self.compare(lambda: self.model.listxattr(where), self.operator.listxattr(ROOT, path(text(where))))
        if both is not None:
            assert both[0] == both[1]

    @rule(where=paths, name=st.sampled_from(XATTR_NAMES))
    def removexattr(self, where: Path, name: bytes) -> None:
        self.compare(lambda: self.model.removexattr(where, name),
                     self.operator.removexattr(ROOT, path(text(where)), name))

    @invariant()
    def trees_match(self) -> None:
        actual = self.loop.run_until_complete(self._collect())
        assert actual == self.model.snapshot()

    async def _collect(self) -> dict[Path, tuple]:
        found: dict[Path, tuple] = {}
        root = await self.operator.stat(ROOT, path(b"/"))
        pending: list[tuple[Path, int]] = [((), root.inode_id)]
        for _visit in range(1000):
            if not pending:
                return found
            directory, directory_id = pending.pop()
            listing = await self.operator.readdir(ROOT, path(text(directory) if directory else b"/"),
                                                  with_inodes=True)
            for entry, inode in zip(listing.entries, listing.inodes):
                child = directory + (entry.name,)
                kind = _KINDS[inode.inode_type.name]
                found[child] = (kind, inode.mode & 0o7777, 0 if kind == "dir" else inode.nlink, inode.uid, inode.gid,
                                inode.length if kind in ("file", "fifo") else 0)
                if kind == "dir":
                    assert inode.parent == directory_id, "a directory's parent field is stale"
                    pending.append((child, inode.inode_id))
        raise AssertionError("tree walk did not end")


MetadataMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=50, deadline=None)
TestMetadataModel = MetadataMachine.TestCase
