"""Metadata on the KV store: key schema (keys.py), value encodings and
load/store helpers per record kind (inode, dir_entry, session, gc_queue,
idempotence), name checks, permissions and path resolution. Ops in
`fs3.meta.ops` build on these; nothing here opens transactions itself.
"""
