"""User verbs of the `fs3` command: users and their tokens.

    fs3 user-add NAME --uid U --gid G [--groups 10,20] [--admin] [--root]
                                   add a user; prints its token (shown only now)
    fs3 users                      every user
    fs3 user-remove NAME           remove a user (its token stops working everywhere)
    fs3 user-token NAME            a new token for a user; the old one stops working
    fs3 whoami                     the user of the token in use
    fs3 new-token                  a fresh token, for a bootstrap_token_file (no cluster needed)

Adding, listing and removing users is for admins; anyone may rotate their own
token. `--token-file PATH` writes a new token to PATH (mode 0600) instead of
printing it; a printed token goes alone to stdout (`TOKEN=$(fs3 user-add ...)`),
everything else to stderr. `--json` for scripts. The token in use comes from
`fs3 --token`, FS3_TOKEN, FS3_TOKEN_FILE or the local cluster's admin.token.
Registered on the main app by `fs3.cli.main`.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Optional

import typer
from rich.table import Table

from fs3.cli.main import (
    CliError,
    JsonOption,
    MgmtdOption,
    _fail,
    _mgmtd_addresses,
    _run,
    app,
    console,
    error_console,
)
from fs3.identity import Identity
from fs3.tokens import new_token, write_token_file

__all__ = ["user_add", "users", "user_remove", "user_token", "whoami", "new_token_command"]

TokenFileOption = Annotated[
    Optional[str], typer.Option("--token-file", help="write the token to this file (0600) instead of printing it")
]


def _parse_groups(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CliError(f"--groups {text!r} is not a comma-separated list of group ids") from None


def _user_json(identity: Identity, created_ms: int = 0) -> dict:
    return {"name": identity.name, "uid": identity.uid, "gid": identity.gid, "groups": list(identity.groups),
            "admin": identity.admin, "root": identity.root, "created_ms": created_ms}


def _with_mgmtd(mgmtd: str | None, body):
    """Return `await body(client)` with a cluster-manager client; failures become one line and exit 1."""
    from fs3.mgmtd.client import MgmtdClient

    async def main():
        client = MgmtdClient(_mgmtd_addresses(mgmtd))
        try:
            return await body(client)
        finally:
            await client.close()

    return _run(main())


def _hand_over_token(identity: Identity, token: str, token_file: str | None, as_json: bool, what: str) -> None:
    if token_file:
        write_token_file(token_file, token)
    if as_json:
        print(json.dumps({**_user_json(identity), "token": None if token_file else token,
                          "token_file": token_file}, indent=2))
        return
    error_console.print(f"{what} {identity.name} (uid {identity.uid}, gid {identity.gid}, groups "
                        f"{list(identity.groups)}, admin: {identity.admin}, root: {identity.root})",
                        markup=False, highlight=False)
    if token_file:
        error_console.print(f"token written to {token_file}", markup=False, highlight=False)
    else:
        error_console.print("token (shown only now; keep it in a file only its user can read):")
        print(token)


@app.command("user-add")
def user_add(
    name: str,
    uid: Annotated[int, typer.Option("--uid", help="user id the user acts as")],
    gid: Annotated[int, typer.Option("--gid", help="primary group id")],
    groups: Annotated[str, typer.Option("--groups", help="supplementary group ids, comma-separated")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="may run admin operations (users, chain tables, ...)")] = False,
    root: Annotated[bool, typer.Option("--root", help="may act as any uid (services, FUSE daemons)")] = False,
    token_file: TokenFileOption = None,
    mgmtd: MgmtdOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a user and print its token (admins only)."""
    try:
        group_ids = _parse_groups(groups)
    except CliError as error:
        _fail(str(error))
    identity, token = _with_mgmtd(
        mgmtd, lambda client: client.add_user(name, uid, gid, group_ids, admin=admin, root=root))
    _hand_over_token(identity, token, token_file, as_json, "added user")


@app.command("users")
def users(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """Every user with its ids and flags (admins only)."""
    rows = _with_mgmtd(mgmtd, lambda client: client.list_users())
    if as_json:
        print(json.dumps([_user_json(identity, created_ms) for identity, created_ms in rows], indent=2))
        return
    table = Table(title="users")
    for column in ("name", "uid", "gid", "groups", "admin", "root", "created"):
        table.add_column(column)
    for identity, created_ms in rows:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(created_ms / 1000)) if created_ms else "-"
        table.add_row(identity.name, str(identity.uid), str(identity.gid),
                      ",".join(str(group) for group in identity.groups) or "-",
                      "yes" if identity.admin else "no", "yes" if identity.root else "no", created)
    console.print(table)


@app.command("user-remove")
def user_remove(name: str, mgmtd: MgmtdOption = None) -> None:
    """Remove a user; its token stops working on every service (admins only; never the last admin)."""
    _with_mgmtd(mgmtd, lambda client: client.remove_user(name))
    error_console.print(f"removed user {name}", markup=False, highlight=False)


@app.command("user-token")
def user_token(name: str, token_file: TokenFileOption = None, mgmtd: MgmtdOption = None,
               as_json: JsonOption = False) -> None:
    """Give a user a new token; the old one stops working (admins, or a user for its own token)."""
    identity, token = _with_mgmtd(mgmtd, lambda client: client.rotate_user_token(name))
    _hand_over_token(identity, token, token_file, as_json, "new token for")


@app.command("whoami")
def whoami(mgmtd: MgmtdOption = None, as_json: JsonOption = False) -> None:
    """The user of the token in use: ids and flags."""
    identity, created_ms = _with_mgmtd(mgmtd, lambda client: client.who_am_i())
    if as_json:
        print(json.dumps(_user_json(identity, created_ms), indent=2))
        return
    flags = [flag for flag, held in (("admin", identity.admin), ("root", identity.root)) if held]
    console.print(f"{identity.name}: uid {identity.uid}, gid {identity.gid}, groups {list(identity.groups)}, "
                  f"flags: {', '.join(flags) or 'none'}", markup=False, highlight=False)


@app.command("new-token")
def new_token_command(token_file: TokenFileOption = None) -> None:
    """Make a fresh token without asking any cluster: for a cluster manager's bootstrap_token_file."""
    token = new_token()
    if token_file:
        write_token_file(token_file, token)
        error_console.print(f"token written to {token_file}", markup=False, highlight=False)
    else:
        print(token)
