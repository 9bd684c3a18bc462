"""Who is calling: the user a token stands for, and what that user may do.

Every service learns a caller's `Identity` once per connection (framed RPC)
or per call (gRPC) from its token, then decides with plain attribute checks:

- `admin`: may run admin operations (users, chain tables, targets, config);
- `root`: trusted to act on behalf of any uid/gid. Services and FUSE daemons
  hold root tokens; an ordinary user may only act as its own uid, its gid or
  one of its groups (`may_act_as`).
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = ["Identity", "Access", "UNCHECKED_IDENTITY"]


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    admin: bool = False
    root: bool = False

    def may_act_as(self, uid: int, gid: int, groups: tuple[int, ...] | list[int]) -> bool:
        """Whether a request claiming these credentials may run as them.

        Root may claim anything; anyone else exactly its uid, and a gid and
        groups among its own gid and groups (like newgrp, never more).
        """
        if self.root:
            return True
        if uid != self.uid:
            return False
        own = (self.gid, *self.groups)
        return gid in own and all(group in own for group in groups)

    def describe(self) -> str:
        """'alice (uid 1000)' for error messages."""
        return f"{self.name} (uid {self.uid})"


# The identity of every connection of a transport with no authenticator
# (tests of the transport only; every service process checks tokens).
UNCHECKED_IDENTITY = Identity(name="<unchecked>", uid=0, gid=0, admin=True, root=True)


class Access(enum.Enum):
    """Who may call a method (framed RPC: checked per call with one attribute test; gRPC: fs3.mgmtd.auth)."""

    ANY_USER = "any user"
    ADMIN = "admins"
    ADMIN_OR_ROOT = "admins and services"   # inspection: chunk metadata dumps and queries
    ROOT = "services (root flag)"           # service-to-service calls: registration, sync, chunk removal

    def permits(self, identity: Identity) -> bool:
        if self is Access.ANY_USER:
            return True
        if self is Access.ADMIN:
            return identity.admin
        if self is Access.ADMIN_OR_ROOT:
            return identity.admin or identity.root
        return identity.root
