"""The FUSE operations: decode the kernel's request, call fs3, encode the reply.

Every handler is thin. Names go to the metadata RPCs as a
`PathAt(parent=<inode>, path=<name>)`, attribute calls (SETATTR, xattrs) by
inode id; file data through the native client's chunk reads and writes
(`Fs3Client`), buffered by `file_handles`. Requests run as the calling
process's uid, gid and supplementary groups (from /proc/<pid>/status).

File locks (fcntl record locks and flock) are cluster-wide: held in the
metadata services (client/file_locks.py) by (this mount's client id, the
kernel's lock owner), so processes on different mounts exclude each other.
Device, FIFO and socket nodes are only names with attributes: the mount is
nodev, and a FIFO or socket lives in the kernel that opens it.
"""

from __future__ import annotations

import errno
import functools
import logging
import os
import stat as stat_module
import time

from fs3.client.fuse import kernel as pyfuse3  # our FUSE protocol layer, pyfuse3's surface

from fs3._proto import common_pb2, meta_pb2
from fs3.client.client import Fs3Client, _stat_from_inode
from fs3.client.file_locks import FLOCK, OFFSET_MAX, POSIX
from fs3.client.fuse.config import FuseConfig
from fs3.client.fuse.file_handles import HandleTable, OpenDirectory, OpenFile
from fs3.client.fuse.inode_table import InodeTable, fs3_inode_id, fuse_inode
from fs3.errors import Fs3Error
from fs3.net.methods import MetaMethod

__all__ = ["Fs3Operations", "fuse_error"]

logger = logging.getLogger(__name__)

_TYPE_BITS = {
    meta_pb2.INODE_TYPE_FILE: stat_module.S_IFREG,
    meta_pb2.INODE_TYPE_DIRECTORY: stat_module.S_IFDIR,
    meta_pb2.INODE_TYPE_SYMLINK: stat_module.S_IFLNK,
    meta_pb2.INODE_TYPE_FIFO: stat_module.S_IFIFO,
    meta_pb2.INODE_TYPE_CHAR_DEVICE: stat_module.S_IFCHR,
    meta_pb2.INODE_TYPE_BLOCK_DEVICE: stat_module.S_IFBLK,
    meta_pb2.INODE_TYPE_SOCKET: stat_module.S_IFSOCK,
}
_ACCESS_MODE = os.O_ACCMODE
_RENAME_EXCHANGE = 2  # linux/fs.h
# pyfuse3 turns UTIME_NOW into the daemon's clock: a time this close to now may have been NOW
_NOW_WINDOW_NS = 5_000_000_000
_GROUPS_CACHE_S = 1.0
_FALLOC_FL_KEEP_SIZE = 0x01  # linux/falloc.h
_GROUPS_CACHE_MAX = 4096


def _caller_groups(pid: int) -> list[int]:
    """Supplementary groups of process `pid` (empty if it is gone or not visible)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as file:
            for line in file:
                if line.startswith(b"Groups:"):
                    return [int(group) for group in line.split()[1:]]
    except (OSError, ValueError):
        pass
    return []


def fuse_error(error: Fs3Error) -> pyfuse3.FUSEError:
    """POSIX codes pass through; fs3's own codes (timeouts, chains, ...) become EIO."""
    return pyfuse3.FUSEError(error.code if error.is_posix else errno.EIO)


def _translate_errors(handler):
    @functools.wraps(handler)
    async def wrapper(self, *args):
        try:
            return await handler(self, *args)
        except pyfuse3.FUSEError:
            raise
        except Fs3Error as error:
            if error.is_posix:
                logger.debug("%s%r: %s", handler.__name__, args[:2], error)
            else:
                logger.warning("%s%r: %s", handler.__name__, args[:2], error)
            raise fuse_error(error) from None
        except Exception:
            logger.exception("%s%r failed", handler.__name__, args[:2])
            raise pyfuse3.FUSEError(errno.EIO) from None

    return wrapper


class Fs3Operations(pyfuse3.Operations):
    """pyfuse3's low-level (inode) operations over one fs3 cluster."""

    enable_writeback_cache = False
    supports_dot_lookup = True

    def __init__(self, client: Fs3Client, config: FuseConfig = FuseConfig()) -> None:
        super().__init__()
        config.check()
        self.client = client
        self.config = config
        self.inodes = InodeTable()
        self.handles = HandleTable(config)
        self._groups: dict[tuple[int, int, int], tuple[float, list[int]]] = {}
        self._held_locks: set[tuple[int, int, int]] = set()  # (inode, kind, owner) this mount ever locked

    # ---- helpers -----------------------------------------------------------------
    def _user(self, ctx: pyfuse3.RequestContext | None) -> common_pb2.UserInfo:
        """The caller as the metadata service checks permissions: uid, gid, supplementary groups."""
        if ctx is None:
            return self.client.user
        return common_pb2.UserInfo(uid=ctx.uid, gid=ctx.gid, groups=self._caller_groups(ctx))

    def _caller_groups(self, ctx: pyfuse3.RequestContext) -> list[int]:
        if ctx.uid == 0 or not ctx.pid:
            return []  # root passes permission checks anyway; pid 0: a request of the kernel's own
        key = (ctx.pid, ctx.uid, ctx.gid)
        now = time.monotonic()
        cached = self._groups.get(key)
        if cached is not None and now - cached[0] < _GROUPS_CACHE_S:
            return cached[1]
        if len(self._groups) >= _GROUPS_CACHE_MAX:
            self._groups.clear()
        groups = _caller_groups(ctx.pid)
        self._groups[key] = (now, groups)
        return groups

    async def _call(self, method: MetaMethod, request):
        return await self.client.meta.call(method, request)

    def _attributes(self, inode: meta_pb2.Inode, *, cache: bool = True) -> pyfuse3.EntryAttributes:
        attributes = pyfuse3.EntryAttributes()
        length = inode.length
        if inode.inode_type == meta_pb2.INODE_TYPE_FILE:
            length = self.handles.visible_length(inode.inode_id, length)
        attributes.st_ino = fuse_inode(inode.inode_id)
        attributes.generation = 0
        attributes.entry_timeout = self.config.entry_timeout_s
        attributes.attr_timeout = self.config.attribute_timeout_s if cache else 0
        attributes.st_mode = _TYPE_BITS.get(inode.inode_type, 0) | (inode.mode & 0o7777)
        attributes.st_nlink = inode.nlink  # 0: unlinked, still open
        attributes.st_uid = inode.uid
        attributes.st_gid = inode.gid
        attributes.st_rdev = inode.rdev
        if inode.inode_type == meta_pb2.INODE_TYPE_SYMLINK:
            length = len(inode.symlink_target)
        attributes.st_size = length
        # a large block size makes cp and friends write 1 MiB at a time
        attributes.st_blksize = self.config.write_piece_bytes
        attributes.st_blocks = (length + 511) // 512
        attributes.st_atime_ns = inode.atime_ns
        attributes.st_mtime_ns = inode.mtime_ns
        attributes.st_ctime_ns = inode.ctime_ns
        return attributes

    def _entry(self, inode: meta_pb2.Inode, parent: int, name: bytes) -> pyfuse3.EntryAttributes:
        """Attributes handed to the kernel with a new lookup reference."""
        self.inodes.remember(inode.inode_id, fs3_inode_id(parent), name)
        return self._attributes(inode)

    @staticmethod
    def _at(parent: int, name: bytes = b".") -> meta_pb2.PathAt:
        # PathAt(parent=X, path=b"") is ENOENT in the metadata core; b"." names X itself
        return meta_pb2.PathAt(parent=fs3_inode_id(parent), path=name)

    async def _stat_inode(self, inode_id: int, ctx=None) -> meta_pb2.Inode:
        response = await self._call(MetaMethod.STAT_INODE,
                                    meta_pb2.StatInodeRequest(user=self._user(ctx), inode_id=inode_id))
        return response.inode

    # ---- names -------------------------------------------------------------------
    @_translate_errors
    async def lookup(self, parent_inode, name, ctx=None):
        response = await self._call(MetaMethod.STAT, meta_pb2.StatRequest(
            user=self._user(ctx), path=self._at(parent_inode, name), follow_last_symlink=False))
        return self._entry(response.inode, parent_inode, name)

    def forget(self, inode_list):
        for inode, count in inode_list:
            self.inodes.forget(fs3_inode_id(inode), count)

    @_translate_errors
    async def getattr(self, inode, ctx=None):
        return self._attributes(await self._stat_inode(fs3_inode_id(inode), ctx))

    @_translate_errors
    async def setattr(self, inode, attr, fields, fh, ctx):
        inode_id = fs3_inode_id(inode)
        request = meta_pb2.SetattrRequest(user=self._setattr_user(fh, fields, ctx), inode_id=inode_id)
        if fields.update_mode:
            request.mode = attr.st_mode & 0o7777
        if fields.update_uid:
            request.uid = attr.st_uid
        if fields.update_gid:
            request.gid = attr.st_gid
        if fields.update_atime:
            request.atime_ns = attr.st_atime_ns
        if fields.update_mtime:
            request.mtime_ns = attr.st_mtime_ns
        if fields.update_size:
            request.length = attr.st_size
            await self.handles.drain_inode(inode_id)  # pending writes land before the cut
        if fields.update_mtime:
            await self._settle_writes(inode_id)
        if not (fields.update_mode or fields.update_uid or fields.update_gid or fields.update_atime
                or fields.update_mtime or fields.update_size):
            return self._attributes(await self._stat_inode(inode_id, ctx))  # ctime alone: nothing to store
        try:
            response = await self._call(MetaMethod.SETATTR, request)
        except Fs3Error as error:
            retry = self._as_utime_now(error, request)
            if retry is None:
                raise
            response = await self._call(MetaMethod.SETATTR, retry)
        if fields.update_size:
            self.handles.truncated(inode_id, attr.st_size)
        return self._attributes(response.inode)

    def _setattr_user(self, fh: int | None, fields, ctx) -> common_pb2.UserInfo:
        """Who a setattr acts as. An ftruncate (the kernel passes the handle only for a size
        change through a descriptor, with the setid bits it drops) needs no write permission on
        the file: the descriptor was opened for writing, checked then. So it goes as this mount."""
        if fh is not None and fields.update_size:
            handle = self.handles.file_or_none(fh)
            if handle is not None and handle.writable:
                return self.client.user
        return self._user(ctx)

    async def _settle_writes(self, inode_id: int) -> None:
        """Before explicit times (cp -a, tar, rsync set them before close): send this mount's
        writes and their length now, so neither a later SET_LENGTH nor CLOSE moves mtime again."""
        for handle in self.handles.files_of(inode_id):
            await handle.drain()
            await self._report_length(handle)
            handle.mtime_pending = False

    @staticmethod
    def _as_utime_now(error: Fs3Error, request: meta_pb2.SetattrRequest) -> meta_pb2.SetattrRequest | None:
        """The request again with times near now sent as UTIME_NOW, if the service refused explicit times.

        pyfuse3 hands UTIME_NOW over as the daemon's clock, and the metadata service lets a
        non-owner with write permission set NOW but not explicit times. The kernel (mount option
        default_permissions) already told the two apart and let this call through, so an EPERM for
        times that are this close to now means they were NOW.
        """
        if error.code != errno.EPERM:
            return None
        now = time.time_ns()
        retry = meta_pb2.SetattrRequest()
        retry.CopyFrom(request)
        changed = False
        for field, flag in (("atime_ns", "atime_now"), ("mtime_ns", "mtime_now")):
            if request.HasField(field) and abs(getattr(request, field) - now) < _NOW_WINDOW_NS:
                retry.ClearField(field)
                setattr(retry, flag, True)
                changed = True
        return retry if changed else None

    @_translate_errors
    async def mkdir(self, parent_inode, name, mode, ctx):
        response = await self._call(MetaMethod.MKDIR, meta_pb2.MkdirRequest(
            user=self._user(ctx), path=self._at(parent_inode, name), mode=mode & ~ctx.umask & 0o7777))
        return self._entry(response.inode, parent_inode, name)

    @_translate_errors
    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        # any type but S_IFDIR; devices, FIFOs and sockets are names with attributes only (the mount is nodev)
        mode = stat_module.S_IFMT(mode) | (mode & ~ctx.umask & 0o7777)
        response = await self._call(MetaMethod.MKNOD, meta_pb2.MknodRequest(
            user=self._user(ctx), path=self._at(parent_inode, name), mode=mode, rdev=rdev))
        return self._entry(response.inode, parent_inode, name)

    @_translate_errors
    async def symlink(self, parent_inode, name, target, ctx):
        response = await self._call(MetaMethod.SYMLINK, meta_pb2.SymlinkRequest(
            user=self._user(ctx), path=self._at(parent_inode, name), target=target))
        return self._entry(response.inode, parent_inode, name)

    @_translate_errors
    async def readlink(self, inode, ctx):
        meta_inode = await self._stat_inode(fs3_inode_id(inode), ctx)
        if meta_inode.inode_type != meta_pb2.INODE_TYPE_SYMLINK:
            raise pyfuse3.FUSEError(errno.EINVAL)
        return meta_inode.symlink_target

    @_translate_errors
    async def link(self, inode, new_parent_inode, new_name, ctx):
        # LINK names the existing file by path: the name the kernel last saw it under
        inode_id = fs3_inode_id(inode)
        location = self.inodes.location(inode_id)
        if location is None:
            raise pyfuse3.FUSEError(errno.ESTALE)
        response = await self._call(MetaMethod.LINK, meta_pb2.LinkRequest(
            user=self._user(ctx), old_path=self._at(location.parent_id, location.name),
            new_path=self._at(new_parent_inode, new_name)))
        if response.inode.inode_id != inode_id:
            # the remembered name was replaced by another client meanwhile: undo, let the caller retry
            await self._call(MetaMethod.UNLINK, meta_pb2.UnlinkRequest(
                user=self._user(ctx), path=self._at(new_parent_inode, new_name)))
            raise pyfuse3.FUSEError(errno.ESTALE)
        return self._entry(response.inode, new_parent_inode, new_name)

    @_translate_errors
    async def rmdir(self, parent_inode, name, ctx):
        await self._call(MetaMethod.RMDIR, meta_pb2.RmdirRequest(user=self._user(ctx), path=self._at(parent_inode, name)))
        self.inodes.unlinked(fs3_inode_id(parent_inode), name)

    async def _pin_if_open(self, parent_inode: int, name: bytes) -> None:
        """Before `name` loses what may be its last link: if this mount has its file open, hold
        a write session on it (as the mount), so the file lives on as an orphan for its open
        handles (POSIX) instead of going to the GC; the last release here closes the session.
        Best effort: another client's open handles are not seen, and a refused open only logs."""
        inode_id = self.inodes.inode_at(fs3_inode_id(parent_inode), name)
        if inode_id is None or not self.handles.is_open(inode_id) or self.handles.is_pinned(inode_id):
            return
        try:
            response = await self._call(MetaMethod.OPEN, meta_pb2.OpenRequest(
                user=self.client.user, path=self._at(parent_inode, name), flags=os.O_WRONLY | os.O_NOFOLLOW,
                client_id=self.client.client_id))
        except Fs3Error as error:
            logger.info("cannot keep open inode %d past its unlink: %s", inode_id, error)
            return
        if not response.session_id:
            return  # not a regular file: nothing on storage to keep
        if response.inode.inode_id != inode_id or not self.handles.is_open(inode_id) or self.handles.is_pinned(inode_id):
            await self._close_session(response.inode.inode_id, response.session_id, False, 0)
            return
        self.handles.pin(inode_id, response.session_id)

    async def _unpin_if_closed(self, inode_id: int) -> None:
        session_id = self.handles.unpin_if_closed(inode_id)
        if session_id is None:
            return
        try:
            await self._close_session(inode_id, session_id, False, 0)
        except Fs3Error as error:
            # the session then ends with this mount (pruned once its heartbeats stop)
            logger.warning("closing the session that kept unlinked inode %d failed: %s", inode_id, error)

    @_translate_errors
    async def unlink(self, parent_inode, name, ctx):
        await self._pin_if_open(parent_inode, name)
        await self._call(MetaMethod.UNLINK, meta_pb2.UnlinkRequest(user=self._user(ctx), path=self._at(parent_inode, name)))
        self.inodes.unlinked(fs3_inode_id(parent_inode), name)

    @_translate_errors
    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        if not flags & _RENAME_EXCHANGE:
            await self._pin_if_open(parent_inode_new, name_new)  # it may be replaced
        await self._call(MetaMethod.RENAME, meta_pb2.RenameRequest(
            user=self._user(ctx), src=self._at(parent_inode_old, name_old), dst=self._at(parent_inode_new, name_new),
            flags=flags))
        self.inodes.moved(fs3_inode_id(parent_inode_old), name_old, fs3_inode_id(parent_inode_new), name_new)

    # ---- extended attributes -------------------------------------------------------
    async def setxattr(self, inode, name, value, ctx):
        await self.setxattr_with_flags(inode, name, value, 0, ctx)

    @_translate_errors
    async def setxattr_with_flags(self, inode, name, value, flags, ctx):
        """XATTR_CREATE / XATTR_REPLACE checked by the metadata service in the same transaction as the
        change, so two clients creating one attribute at once cannot both succeed."""
        await self._call(MetaMethod.SETXATTR, meta_pb2.SetxattrRequest(
            user=self._user(ctx), inode_id=fs3_inode_id(inode), name=name, value=value, flags=flags))

    @_translate_errors
    async def getxattr(self, inode, name, ctx):
        response = await self._call(MetaMethod.GETXATTR, meta_pb2.GetxattrRequest(
            user=self._user(ctx), inode_id=fs3_inode_id(inode), name=name))
        return response.value

    @_translate_errors
    async def listxattr(self, inode, ctx):
        response = await self._call(MetaMethod.LISTXATTR, meta_pb2.ListxattrRequest(
            user=self._user(ctx), inode_id=fs3_inode_id(inode)))
        return list(response.names)

    @_translate_errors
    async def removexattr(self, inode, name, ctx):
        await self._call(MetaMethod.REMOVEXATTR, meta_pb2.RemovexattrRequest(
            user=self._user(ctx), inode_id=fs3_inode_id(inode), name=name))

    @_translate_errors
    async def statfs(self, ctx):
        routing = self.client.routing.routing
        capacity = sum(target.capacity_bytes for target in routing.targets.values())
        used = sum(target.used_bytes for target in routing.targets.values())
        replicas = max([len(chain.target_ids) for chain in routing.chains.values()] or [1])
        block = self.config.block_size
        data = pyfuse3.StatvfsData()
        data.f_bsize = self.config.write_piece_bytes
        data.f_frsize = block
        data.f_blocks = capacity // replicas // block
        data.f_bfree = data.f_bavail = max(capacity - used, 0) // replicas // block
        data.f_files = 1 << 40
        data.f_ffree = data.f_favail = 1 << 40
        data.f_namemax = 255
        return data

    # ---- directories ---------------------------------------------------------------
    async def _read_directory_page(self, directory: OpenDirectory, ctx=None) -> None:
        after = directory.names[-1] if directory.names else b""
        # by inode id: an open directory needs read permission only, not search (PathAt "." would)
        response = await self._call(MetaMethod.READDIR, meta_pb2.ReaddirRequest(
            user=self._user(ctx), inode_id=directory.inode_id, after_name=after,
            limit=self.config.readdir_page_entries, with_inodes=True))
        directory.names.extend(entry.name for entry in response.entries)
        directory.inodes.extend(response.inodes)
        directory.more = response.more and bool(response.entries)

    @_translate_errors
    async def opendir(self, inode, ctx):
        directory = OpenDirectory(self.handles.new_handle_id(), fs3_inode_id(inode))
        await self._read_directory_page(directory, ctx)  # ENOTDIR/EACCES now, not at readdir
        return self.handles.add(directory)

    @_translate_errors
    async def readdir(self, fh, start_id, token):
        directory = self.handles.directory(fh)
        index = start_id  # a cookie is the index of the next entry in this handle's list
        while True:
            while index >= len(directory.names) and directory.more:
                await self._read_directory_page(directory)
            if index >= len(directory.names):
                return
            name, inode = directory.names[index], directory.inodes[index]
            # attributes read at opendir may be older than a setattr the kernel saw since: not cached
            if not pyfuse3.readdir_reply(token, name, self._attributes(inode, cache=False), index + 1):
                return
            self.inodes.remember(inode.inode_id, directory.inode_id, name)
            index += 1

    @_translate_errors
    async def releasedir(self, fh):
        self.handles.remove(fh)

    @_translate_errors
    async def fsyncdir(self, fh, datasync):
        return None

    # ---- files ---------------------------------------------------------------------
    def _file_info(self, handle_id: int) -> pyfuse3.FileInfo:
        info = pyfuse3.FileInfo(fh=handle_id)
        info.keep_cache = False  # other clients write too: no page cache across opens
        info.direct_io = False
        return info

    @_translate_errors
    async def create(self, parent_inode, name, mode, flags, ctx):
        handle_id = self.handles.new_handle_id()
        response = await self._call(MetaMethod.CREATE, meta_pb2.CreateRequest(
            user=self._user(ctx), path=self._at(parent_inode, name), mode=mode & ~ctx.umask & 0o7777,
            flags=flags, client_id=self.client.client_id, request_id=os.urandom(16)))
        handle = OpenFile(handle_id, self.client, self.config, _stat_from_inode(response.inode), response.session_id,
                          writable=flags & _ACCESS_MODE != os.O_RDONLY)
        self.handles.add(handle)
        return self._file_info(handle_id), self._entry(response.inode, parent_inode, name)

    async def _open_by_name(self, inode_id: int, flags: int, ctx) -> tuple[meta_pb2.Inode, int] | None:
        """OPEN through the name the inode was last seen under; None if that name no longer leads to it."""
        location = self.inodes.location(inode_id)
        if location is None:
            return None
        try:
            response = await self._call(MetaMethod.OPEN, meta_pb2.OpenRequest(
                user=self._user(ctx), path=self._at(location.parent_id, location.name),
                flags=flags | os.O_NOFOLLOW, client_id=self.client.client_id))
        except Fs3Error as error:
            if error.code in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                return None
            raise
        if response.inode.inode_id != inode_id:
            if response.session_id:
                await self._close_session(response.inode.inode_id, response.session_id, False, 0)
            return None
        return response.inode, response.session_id

    async def _open_by_inode(self, inode_id: int, flags: int, ctx) -> tuple[meta_pb2.Inode, int]:
        """Without a name: attributes by id (O_TRUNC was applied by SETATTR already), no write session."""
        inode = await self._stat_inode(inode_id, ctx)
        if inode.inode_type == meta_pb2.INODE_TYPE_DIRECTORY and flags & _ACCESS_MODE != os.O_RDONLY:
            raise Fs3Error(errno.EISDIR, f"inode {inode_id} is a directory")
        return inode, 0

    @_translate_errors
    async def open(self, inode, flags, ctx):
        inode_id = fs3_inode_id(inode)
        handle_id = self.handles.new_handle_id()
        if flags & os.O_TRUNC:
            await self.handles.drain_inode(inode_id)
            # SETATTR (not OPEN's own O_TRUNC) also removes the old chunks from storage
            await self._call(MetaMethod.SETATTR, meta_pb2.SetattrRequest(
                user=self._user(ctx), inode_id=inode_id, length=0))
        opened = await self._open_by_name(inode_id, flags, ctx) or await self._open_by_inode(inode_id, flags, ctx)
        meta_inode, session_id = opened
        if flags & os.O_TRUNC:
            self.handles.truncated(inode_id, 0)
        handle = OpenFile(handle_id, self.client, self.config, _stat_from_inode(meta_inode), session_id,
                          writable=flags & _ACCESS_MODE != os.O_RDONLY)
        self.handles.add(handle)
        return self._file_info(handle_id)

    @_translate_errors
    async def read(self, fh, off, size):
        handle = self.handles.file(fh)
        await self.handles.drain_inode(handle.inode_id)
        length = self.handles.visible_length(handle.inode_id, handle.length)
        return await handle.read(off, size, length)

    @_translate_errors
    async def write(self, fh, off, buf):
        handle = self.handles.file(fh)
        count = await handle.write(off, buf)
        handle.mtime_pending = True
        self.handles.written(handle.inode_id)
        return count

    async def _report_length(self, handle: OpenFile, *, settle: bool = False) -> None:
        """Tell the metadata service how far this handle wrote (never shrinks).

        settle (fsync): the service also counts what storage holds, so writes other clients made
        to the file are in its length afterwards.
        """
        if handle.written_end > handle.reported_end or (settle and handle.wrote):
            await self._call(MetaMethod.SET_LENGTH, meta_pb2.SetLengthRequest(
                user=self.client.user, inode_id=handle.inode_id, length=handle.written_end, only_grow=True,
                settle=settle))
            handle.reported_end = max(handle.reported_end, handle.written_end)

    @_translate_errors
    async def flush(self, fh):
        handle = self.handles.file(fh)
        await handle.drain()
        await self._report_length(handle)

    @_translate_errors
    async def fsync(self, fh, datasync):
        handle = self.handles.file(fh)
        await handle.drain()
        await self._report_length(handle, settle=True)

    async def _close_session(self, inode_id: int, session_id: int, wrote: bool, length_hint: int) -> None:
        await self._call(MetaMethod.CLOSE, meta_pb2.CloseRequest(
            user=self.client.user, inode_id=inode_id, client_id=self.client.client_id, session_id=session_id,
            wrote=wrote, length_hint=length_hint))

    @_translate_errors
    async def release(self, fh):
        handle = self.handles.file(fh)
        try:
            await handle.drain()
            if handle.session_id or handle.wrote:
                # flush (at close()) normally reported the length already; a hint sent again
                # here, after the kernel's asynchronous release, could undo a later truncate
                unreported = handle.written_end if handle.written_end > handle.reported_end else 0
                # wrote=False after an explicit mtime with no write since: CLOSE would reset mtime
                wrote = handle.wrote and (handle.mtime_pending or unreported > 0)
                await self._close_session(handle.inode_id, handle.session_id, wrote, unreported)
        finally:
            await handle.close()
            self.handles.remove(fh)
            await self._unpin_if_closed(handle.inode_id)

    # ---- cluster-wide locks ------------------------------------------------------
    @_translate_errors
    async def getlk(self, fh, owner, lock, ctx):
        handle = self.handles.file(fh)
        holder = await self.client.locks.test(self._user(ctx), handle.inode_id, POSIX, owner, lock.type,
                                              lock.start, lock.end)
        if holder is None:
            return pyfuse3.FileLock(lock.start, lock.end, pyfuse3.F_UNLCK, 0)
        return pyfuse3.FileLock(holder.start, holder.end, holder.lock_type, holder.pid)

    @_translate_errors
    async def setlk(self, fh, owner, lock, sleep, ctx):
        await self._set_lock(fh, POSIX, owner, lock.type, lock.start, lock.end, sleep, lock.pid, ctx)

    @_translate_errors
    async def flock(self, fh, owner, lock_type, sleep, ctx):
        await self._set_lock(fh, FLOCK, owner, lock_type, 0, OFFSET_MAX, sleep, 0, ctx)

    async def _set_lock(self, fh, kind: int, owner: int, lock_type: int, start: int, end: int, sleep: bool,
                        pid: int, ctx) -> None:
        """Every close unlocks its owner's locks (the kernel layer calls setlk/flock with F_UNLCK): skip
        the round trip unless this mount ever locked that inode for that owner."""
        inode_id = self.handles.file(fh).inode_id
        held = (inode_id, kind, owner)
        if lock_type == pyfuse3.F_UNLCK and held not in self._held_locks:
            return
        if lock_type != pyfuse3.F_UNLCK:
            # before asking: an attempt the service grants after the caller was interrupted (EINTR)
            # still leaves a lock, and the close must then unlock it
            self._held_locks.add(held)
        await self.client.locks.set(self._user(ctx), inode_id, kind, owner, lock_type, start, end, wait=sleep,
                                    pid=pid)
        if lock_type == pyfuse3.F_UNLCK and (start, end) == (0, OFFSET_MAX):
            self._held_locks.discard(held)

    @_translate_errors
    async def fallocate(self, fh, offset, length, mode):
        """Mode 0 (posix_fallocate) grows the file to offset+length; KEEP_SIZE changes nothing visible.
        Space is not reserved ahead: storage allocates a chunk when it is written (document says so).
        Punching holes, collapsing or zeroing ranges: EOPNOTSUPP."""
        handle = self.handles.file(fh)
        if offset < 0 or length <= 0:
            raise pyfuse3.FUSEError(errno.EINVAL)
        if mode & ~_FALLOC_FL_KEEP_SIZE:
            raise pyfuse3.FUSEError(errno.EOPNOTSUPP)
        if mode & _FALLOC_FL_KEEP_SIZE:
            return
        end = offset + length
        await self.handles.drain_inode(handle.inode_id)
        if end > self.handles.visible_length(handle.inode_id, handle.length):
            handle.written_end = max(handle.written_end, end)
            handle.wrote = True
            await self._report_length(handle)

    async def release_all(self) -> None:
        """At unmount: send what open files still buffer and end their sessions (best effort)."""
        for handle in self.handles.all_files():
            try:
                await self.release(handle.handle_id)
            except pyfuse3.FUSEError as error:
                logger.warning("releasing inode %d at unmount failed: errno %d", handle.inode_id, error.errno)
