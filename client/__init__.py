"""fs3 client library: the native async client.

Public names are re-exported here one by one; everything else is internal.
"""

from fs3.client.client import ClientConfig, DirEntry, FileStat, Fs3Client, Fs3File

__all__ = ["ClientConfig", "DirEntry", "FileStat", "Fs3Client", "Fs3File"]
