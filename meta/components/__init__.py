"""Long-lived helpers of the metadata service (inode id allocator; later GC and session pruning)."""
