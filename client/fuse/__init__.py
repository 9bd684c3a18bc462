"""The fs3 FUSE daemon: a POSIX mount of an fs3 cluster on our FUSE kernel layer (`kernel/`).

Shares the native client's core (`Fs3Client`): metadata RPCs and parallel
chunk reads and writes. See README.md in this folder.
"""

from fs3.client.fuse.config import FuseConfig

__all__ = ["FuseConfig"]
