"""Directory listings: the token a `readdir` fills through `readdir_reply`.

The kernel asks for at most `size` bytes of records per READDIR/READDIRPLUS;
`readdir_reply` appends one record if it fits and returns False (adding
nothing) once it does not, which tells the file system to stop and not to
count a lookup for that entry.
"""

from __future__ import annotations

from fs3.client.fuse.kernel import encoding
from fs3.client.fuse.kernel.api import EntryAttributes

__all__ = ["ReaddirToken", "readdir_reply"]


class ReaddirToken:
    """The records of one READDIR (plus=False) or READDIRPLUS (plus=True) reply."""

    __slots__ = ("plus", "size_max", "size", "records")

    def __init__(self, size_max: int, plus: bool) -> None:
        self.plus = plus
        self.size_max = size_max
        self.size = 0
        self.records: list[bytes] = []

    def body(self) -> bytes:
        return b"".join(self.records)


def readdir_reply(token: ReaddirToken, name: bytes, attr: EntryAttributes, next_id: int) -> bool:
    """Add the entry `name` to the listing; `next_id` is where a later readdir resumes after it.

    Returns:
        False if the entry no longer fits: it was not added, the readdir should return.
    """
    record = encoding.direntplus(name, attr, next_id) if token.plus else encoding.dirent(name, attr, next_id)
    if token.size + len(record) > token.size_max:
        return False
    token.records.append(record)
    token.size += len(record)
    return True
