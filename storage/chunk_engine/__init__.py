"""Per-target chunk engine: versioned, checksummed chunks on a local disk.

Layering, bottom up: `types` (ids, metadata, config), `buffers` (aligned
buffer pool), `data_files` (direct I/O helpers), `slots` (slot files, free
slot tracking, open-file cache), `metadata_store` (SQLite rows), `engine`
(the `ChunkEngine` the storage service calls).
"""

from .buffers import AlignedBufferPool
from .engine import ChunkEngine
from .types import ChunkEngineConfig, ChunkId, ChunkMeta, TargetSpace

__all__ = [
    "AlignedBufferPool",
    "ChunkEngine",
    "ChunkEngineConfig",
    "ChunkId",
    "ChunkMeta",
    "TargetSpace",
]
