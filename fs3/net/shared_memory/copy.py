"""Copy between large writable buffers with the GIL released.

A memoryview slice assignment holds the GIL for the whole memcpy (about
0.1 ms per MiB here), stalling every other thread of a storage service;
`ctypes.memmove` is a foreign call, which releases it.
"""

from __future__ import annotations

import ctypes

__all__ = ["copy_buffer"]

_RELEASE_GIL_FROM_BYTES = 64 << 10


def copy_buffer(destination: memoryview, source: memoryview) -> None:
    """`destination[:len(source)] = source`; both writable, C-contiguous bytes."""
    length = len(source)
    assert len(destination) >= length, f"copy of {length} bytes into {len(destination)}"
    if length < _RELEASE_GIL_FROM_BYTES or source.readonly or destination.readonly:
        destination[:length] = source
        return
    target = ctypes.c_char.from_buffer(destination)
    origin = ctypes.c_char.from_buffer(source)
    ctypes.memmove(ctypes.addressof(target), ctypes.addressof(origin), length)
    del target, origin  # end the exports at once: a view with exports cannot be released
