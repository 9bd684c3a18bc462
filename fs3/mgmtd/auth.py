"""Who is calling the cluster manager: a token check on every gRPC call, and admin guards.

Every call carries `authorization: Bearer <token>` metadata. `TokenInterceptor`
looks the token up in the primary's user table (one SHA-256 per call, against
a gRPC call's ~1 ms), refuses absent and unknown tokens with UNAUTHENTICATED,
refuses a method the caller may not call (`METHOD_ACCESS`) with
PERMISSION_DENIED, and otherwise runs the servicer with the caller available
from `current_caller()`. A secondary answers NOT_PRIMARY before looking at the
token: it has no user table, only the primary's address.

Servicer code guards finer-grained operations itself:

    async def SetConfig(self, request, context):
        require_admin("set-config")   # raises Fs3Error(PERMISSION_DENIED)
        ...

An `Fs3Error` that escapes a servicer method is turned into a gRPC error with
its fs3 code, like the servicers' own aborts.
"""

from __future__ import annotations

import contextvars
from typing import Callable, Sequence

import grpc

from fs3.errors import Fs3Error, StatusCode
from fs3.identity import Access, Identity
from fs3.mgmtd.users import UserStore
from fs3.tokens import TOKEN_CHARS_MAX

__all__ = [
    "TokenInterceptor",
    "METHOD_ACCESS",
    "AUTHORIZATION_METADATA_KEY",
    "bearer_metadata",
    "current_caller",
    "require_admin",
    "require_root",
]

AUTHORIZATION_METADATA_KEY = "authorization"
_BEARER = "Bearer "

# Who may call each gRPC method. A method not listed is for admins: new admin
# RPCs are guarded even before anyone lists them here.
METHOD_ACCESS: dict[str, Access] = {
    "/fs3.ClusterManager/RegisterNode": Access.ROOT,
    "/fs3.ClusterManager/Heartbeat": Access.ROOT,
    "/fs3.ClusterManager/GetRoutingInfo": Access.ANY_USER,
    "/fs3.ClusterManager/GetClusterStatus": Access.ANY_USER,
    "/fs3.ClusterManager/CreateChainTable": Access.ADMIN,
    "/fs3.ClusterManager/OfflineTarget": Access.ADMIN,
    "/fs3.ClusterManager/OnlineTarget": Access.ADMIN,
    "/fs3.ClusterManager/SetChains": Access.ADMIN,
    "/fs3.ClusterManager/SetChainTable": Access.ADMIN,
    "/fs3.ClusterManager/MoveChain": Access.ADMIN,
    "/fs3.ClusterManager/MoveChainsToNode": Access.ADMIN,
    "/fs3.ClusterManager/SetConfig": Access.ADMIN,
    "/fs3.ClusterManager/GetConfig": Access.ANY_USER,
    "/fs3.Users/WhoAmI": Access.ANY_USER,
    "/fs3.Users/AddUser": Access.ADMIN,
    "/fs3.Users/RemoveUser": Access.ADMIN,
    "/fs3.Users/ListUsers": Access.ADMIN,
    "/fs3.Users/RotateUserToken": Access.ANY_USER,  # the servicer: admins, or a user for its own token
    "/fs3.Users/GetUserTable": Access.ROOT,
}
_DEFAULT_ACCESS = Access.ADMIN

_caller: contextvars.ContextVar[Identity] = contextvars.ContextVar("fs3_mgmtd_caller")


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries `token`."""
    return ((AUTHORIZATION_METADATA_KEY, _BEARER + token),)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `authorization` value ('Bearer <token>'), or None."""
    if not authorization or not authorization.startswith(_BEARER):
        return None
    token = authorization[len(_BEARER):].strip()
    return token if 0 < len(token) <= TOKEN_CHARS_MAX else None


def authenticate(users: UserStore, authorization: str | None) -> Identity:
    """The identity of an `authorization` value; also used by the HTTP admin API.

    Raises:
        Fs3Error(UNAUTHENTICATED): no bearer token, or one no user has.
    """
    token = bearer_token(authorization)
    if token is None:
        raise Fs3Error(StatusCode.UNAUTHENTICATED, "no token: send 'authorization: Bearer <token>'")
    identity = users.identity_of_token(token)
    if identity is None:
        raise Fs3Error(StatusCode.UNAUTHENTICATED, "unknown token (removed user or rotated token?)")
    return identity


def current_caller() -> Identity:
    """The authenticated caller of the gRPC call being served."""
    identity = _caller.get(None)
    assert identity is not None, "current_caller() outside a call authenticated by TokenInterceptor"
    return identity


def require_admin(operation: str = "this operation") -> Identity:
    """The caller, if it is an admin.

    Raises:
        Fs3Error(PERMISSION_DENIED): the caller is not an admin.
    """
    identity = current_caller()
    if not identity.admin:
        raise Fs3Error(StatusCode.PERMISSION_DENIED, f"{operation} is for admins; {identity.describe()} is not one")
    return identity


def require_root(operation: str = "this operation") -> Identity:
    """The caller, if it has the root flag (a service or FUSE daemon).

    Raises:
        Fs3Error(PERMISSION_DENIED): the caller has no root flag.
    """
    identity = current_caller()
    if not identity.root:
        raise Fs3Error(StatusCode.PERMISSION_DENIED,
                       f"{operation} is for services (root flag); {identity.describe()} has none")
    return identity


async def _abort(context: grpc.aio.ServicerContext, error: Fs3Error) -> None:
    # Imported here so that fs3.mgmtd.service may import this module (for require_admin) without a cycle.
    from fs3.mgmtd.service import _abort as abort_with_code

    await abort_with_code(context, error)


def _metadata_value(metadata: Sequence[tuple[str, str]] | None, key: str) -> str | None:
    for name, value in metadata or ():
        if name == key:
            return value
    return None


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates every unary call against `users()` (the primary's table; raises NOT_PRIMARY)."""

    def __init__(self, users: Callable[[], UserStore]) -> None:
        self._users = users

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        # Every RPC of ours is unary; a streaming one would pass unauthenticated, so refuse to serve it.
        assert handler.unary_unary is not None, f"{method}: TokenInterceptor only authenticates unary calls"
        behavior = handler.unary_unary
        access = METHOD_ACCESS.get(method, _DEFAULT_ACCESS)
        users = self._users

        async def authenticated(request, context):
            try:
                identity = authenticate(
                    users(), _metadata_value(context.invocation_metadata(), AUTHORIZATION_METADATA_KEY))
                if not access.permits(identity):
                    raise Fs3Error(StatusCode.PERMISSION_DENIED,
                                   f"{method.rsplit('/', 1)[-1]} is for {access.value}, not {identity.describe()}")
            except Fs3Error as error:
                await _abort(context, error)
                return None
            reset = _caller.set(identity)
            try:
                return await behavior(request, context)
            except Fs3Error as error:
                await _abort(context, error)
                return None
            finally:
                _caller.reset(reset)

        return grpc.unary_unary_rpc_method_handler(
            authenticated, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
