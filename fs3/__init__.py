"""fs3: a parallel distributed file system for AI workloads.

Layering, bottom up: `fs3.errors`/`fs3.types`/`fs3.config` (shared types),
`fs3.kv` (transactional KV store), `fs3.net` (framed RPC), then the services
`fs3.mgmtd` (cluster manager), `fs3.meta` (metadata), `fs3.storage` (chunks),
then `fs3.client` and the `fs3.cli` command line.
"""

__version__ = "0.1.0"
