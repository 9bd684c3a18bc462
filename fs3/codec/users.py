"""Identity / user records <-> fs3.User protobuf."""

from __future__ import annotations

from fs3._proto import users_pb2
from fs3.identity import Identity

__all__ = ["identity_to_proto", "identity_from_proto"]


def identity_to_proto(identity: Identity, created_ms: int = 0) -> users_pb2.User:
    return users_pb2.User(
        name=identity.name, uid=identity.uid, gid=identity.gid, groups=list(identity.groups),
        admin=identity.admin, root=identity.root, created_ms=created_ms,
    )


def identity_from_proto(message: users_pb2.User) -> Identity:
    return Identity(
        name=message.name, uid=message.uid, gid=message.gid, groups=tuple(message.groups),
        admin=message.admin, root=message.root,
    )
