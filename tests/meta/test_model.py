"""Goal: the metadata operations behave like a plain POSIX tree.

Method: a hypothesis RuleBasedStateMachine drives mkdir/create/unlink/
rmdir/rename/readdir/stat on a MetaOperator over the memory KV and on a
reference model (a dict from path tuples to "dir"/"file"), comparing
results and errnos after every step and the whole tree as an invariant.
The model encodes Linux's order of checks for the root user.
"""

from __future__ import annotations

import asyncio
import errno

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from fs3.errors import Fs3Error
from fs3.meta.flags import O_CREAT, O_EXCL, O_WRONLY, RENAME_EXCHANGE, RENAME_NOREPLACE

from tests.meta.helpers import ROOT, new_operator, path

Path = tuple[bytes, ...]
NAMES = [b"a", b"b", b"c"]
paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(tuple)


class ModelError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class TreeModel:
    def __init__(self) -> None:
        self.kinds: dict[Path, str] = {(): "dir"}

    def walk_parent(self, target: Path) -> None:
        for depth in range(1, len(target)):
            kind = self.kinds.get(target[:depth])
            if kind is None:
                raise ModelError(errno.ENOENT)
            if kind != "dir":
                raise ModelError(errno.ENOTDIR)

    def children(self, directory: Path) -> list[bytes]:
        return sorted(p[-1] for p in self.kinds if len(p) == len(directory) + 1 and p[: len(directory)] == directory)

    def mkdir(self, target: Path) -> None:
        self.walk_parent(target)
        if target in self.kinds:
            raise ModelError(errno.EEXIST)
        self.kinds[target] = "dir"

    def create(self, target: Path, exclusive: bool) -> None:
        self.walk_parent(target)
        kind = self.kinds.get(target)
        if kind is not None:
            if exclusive:
                raise ModelError(errno.EEXIST)
            if kind == "dir":
                raise ModelError(errno.EISDIR)
            return
        self.kinds[target] = "file"

    def unlink(self, target: Path) -> None:
        self.walk_parent(target)
        kind = self.kinds.get(target)
        if kind is None:
            raise ModelError(errno.ENOENT)
        if kind == "dir":
            raise ModelError(errno.EISDIR)
        del self.kinds[target]

    def rmdir(self, target: Path) -> None:
        self.walk_parent(target)
        kind = self.kinds.get(target)
        if kind is None:
            raise ModelError(errno.ENOENT)
        if kind != "dir":
            raise ModelError(errno.ENOTDIR)
        if self.children(target):
            raise ModelError(errno.ENOTEMPTY)
        del self.kinds[target]

    def stat(self, target: Path) -> str:
        self.walk_parent(target)
        kind = self.kinds.get(target)
        if kind is None:
            raise ModelError(errno.ENOENT)
        return kind

    def readdir(self, target: Path) -> list[bytes]:
        if self.stat(target) != "dir":
            raise ModelError(errno.ENOTDIR)
        return self.children(target)

    def rename(self, src: Path, dst: Path, flags: int) -> None:
        self.walk_parent(src)
        self.walk_parent(dst)
        src_kind = self.kinds.get(src)
        if src_kind is None:
            raise ModelError(errno.ENOENT)
        dst_kind = self.kinds.get(dst)
        if flags & RENAME_NOREPLACE and dst_kind is not None:
            raise ModelError(errno.EEXIST)
        if flags & RENAME_EXCHANGE and dst_kind is None:
            raise ModelError(errno.ENOENT)
        if src[:-1] != dst[:-1]:
            if src_kind == "dir" and dst[:-1][: len(src)] == src:
                raise ModelError(errno.EINVAL)
            if dst_kind == "dir" and src[:-1][: len(dst)] == dst:
                raise ModelError(errno.EINVAL if flags & RENAME_EXCHANGE else errno.ENOTEMPTY)
        if src == dst:
            return
        if dst_kind is not None and not flags & RENAME_EXCHANGE:
            if src_kind == "dir" and dst_kind != "dir":
                raise ModelError(errno.ENOTDIR)
            if src_kind != "dir" and dst_kind == "dir":
                raise ModelError(errno.EISDIR)
            if dst_kind == "dir" and self.children(dst):
                raise ModelError(errno.ENOTEMPTY)
        src_tree = self._take(src)
        dst_tree = self._take(dst)
        self._put(dst, src_tree)
        if flags & RENAME_EXCHANGE:
            self._put(src, dst_tree)

    def _take(self, root: Path) -> dict[Path, str]:
        subtree = {p[len(root) :]: k for p, k in self.kinds.items() if p[: len(root)] == root}
        for relative in subtree:
            del self.kinds[root + relative]
        return subtree

    def _put(self, root: Path, subtree: dict[Path, str]) -> None:
        for relative, kind in subtree.items():
            self.kinds[root + relative] = kind


def text(target: Path) -> bytes:
    return b"/" + b"/".join(target)


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
        return actual[1] if actual[0] == "ok" else None

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
        inode = self.compare(lambda: self.model.stat(where), self.operator.stat(ROOT, path(text(where))))
        if inode is not None:
            assert inode.is_directory == (self.model.kinds[where] == "dir")

    @rule(where=paths)
    def readdir(self, where: Path) -> None:
        result = self.compare(lambda: self.model.readdir(where), self.operator.readdir(ROOT, path(text(where))))
        if result is not None:
            assert [entry.name for entry in result.entries] == self.model.children(where)

    @invariant()
    def trees_match(self) -> None:
        actual = self.loop.run_until_complete(self._collect())
        assert actual == self.model.kinds

    async def _collect(self) -> dict[Path, str]:
        found: dict[Path, str] = {(): "dir"}
        pending: list[tuple[Path, int]] = [((), 0)]
        for _visit in range(1000):
            if not pending:
                return found
            directory, parent_id = pending.pop()
            inode = await self.operator.stat(ROOT, path(text(directory) if directory else b"/"))
            if directory:
                assert inode.parent == parent_id, "a directory's parent field is stale"
            listing = await self.operator.readdir(ROOT, path(text(directory) if directory else b"/"))
            for entry in listing.entries:
                child = directory + (entry.name,)
                found[child] = "dir" if entry.inode_type.name == "DIRECTORY" else "file"
                if found[child] == "dir":
                    pending.append((child, inode.inode_id))
        raise AssertionError("tree walk did not end")


MetadataMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestMetadataModel = MetadataMachine.TestCase
