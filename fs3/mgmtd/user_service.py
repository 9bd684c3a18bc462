"""gRPC face of the user table (`Users` in proto/fs3/_proto/users.proto): decode, call UserStore, encode.

`TokenInterceptor` has authenticated the caller and checked `METHOD_ACCESS`
before any of these runs; an Fs3Error raised here reaches the caller with its
fs3 code.
"""

from __future__ import annotations

from typing import Callable

from fs3._proto import users_pb2, users_pb2_grpc
from fs3.codec.users import identity_to_proto
from fs3.mgmtd.auth import current_caller, require_admin
from fs3.mgmtd.users import UserRecord, UserStore

__all__ = ["UsersService"]


def _user_to_proto(record: UserRecord) -> users_pb2.User:
    return identity_to_proto(record.identity, created_ms=record.created_ms)


class UsersService(users_pb2_grpc.UsersServicer):
    """`users()` is the primary's user table (raises NOT_PRIMARY on a secondary)."""

    def __init__(self, users: Callable[[], UserStore]) -> None:
        self._users = users

    async def WhoAmI(self, request, context):
        caller = current_caller()
        record = self._users().get(caller.name)
        return users_pb2.WhoAmIResponse(user=_user_to_proto(record) if record else identity_to_proto(caller))

    async def AddUser(self, request, context):
        record, token = await self._users().add(request.name, request.uid, request.gid, tuple(request.groups),
                                                admin=request.admin, root=request.root)
        return users_pb2.AddUserResponse(user=_user_to_proto(record), token=token)

    async def RemoveUser(self, request, context):
        await self._users().remove(request.name)
        return users_pb2.RemoveUserResponse()

    async def ListUsers(self, request, context):
        users = self._users()
        return users_pb2.ListUsersResponse(users=[_user_to_proto(record) for record in users.records()],
                                           users_version=users.version)

    async def RotateUserToken(self, request, context):
        if request.name != current_caller().name:
            require_admin("rotating another user's token")
        record, token = await self._users().rotate_token(request.name)
        return users_pb2.RotateUserTokenResponse(user=_user_to_proto(record), token=token)

    async def GetUserTable(self, request, context):
        users = self._users()
        if request.known_users_version and request.known_users_version == users.version:
            return users_pb2.GetUserTableResponse(changed=False, users_version=users.version)
        entries = [users_pb2.UserTableEntry(user=_user_to_proto(record), token_sha256=record.token_sha256)
                   for record in users.records()]
        return users_pb2.GetUserTableResponse(changed=True, users_version=users.version, entries=entries)
