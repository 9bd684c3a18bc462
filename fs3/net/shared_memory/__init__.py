"""Same-host chunk payloads through shared memory: the RDMA of one machine.

Over TCP every payload byte is copied into the kernel by the sender and out
again by the receiver. When a client and a storage service share a host, the
client registers a memory region with the service instead (`region`,
`registry`, the exchange in `wire`), and a chunk read or write names a slot
of it: the service reads from disk straight into the slot, or checks and
stores a write's payload straight from it (its CRC32C is checked at every hop
and on every read, so a client changing its memory mid-write only makes its
own chunk fail its checksum). Requests and replies still travel over the
framed-RPC connection; only the payload moves through memory.
"""

from fs3.net.shared_memory.region import Registration, RegionSlot, SharedMemoryRegion, register_region
from fs3.net.shared_memory.registry import SharedMemoryLimits, SharedMemoryRegistry

__all__ = ["Registration", "RegionSlot", "SharedMemoryRegion", "register_region", "SharedMemoryLimits",
           "SharedMemoryRegistry"]
