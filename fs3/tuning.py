"""Process-wide tuning for the data path.

glibc's malloc hands large buffers back to the OS and faults them in again
on the next message (7-10 us per 4 KiB page here, limits.md): raising the
mmap and trim thresholds keeps reused memory resident. Equivalent to the
MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ environment variables, but
applied from inside the process so every entry point gets it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_malloc"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 16 << 20
_TRIM_THRESHOLD_BYTES = 256 << 20
_tuned = False


def tune_malloc() -> bool:
    """Apply the thresholds once; False where glibc's mallopt is unavailable."""
    global _tuned
    if _tuned:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES))
    _tuned = ok
    return ok
