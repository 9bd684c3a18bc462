"""The user verbs of the `fs3` command, run as real commands against a real cluster.

Goal: user-add / users / whoami / user-token / user-remove work for an admin,
print parseable `--json`, and refuse an ordinary user with a precise error and
exit 1; the token is taken from `--token`, FS3_TOKEN, FS3_TOKEN_FILE and the
local cluster's admin.token in that order, and a missing one is named.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import run_cli, running_cluster


@pytest.fixture(scope="module")
def cli_cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("cli-users"), meta_services=1, targets_per_storage=1) as cluster:
        yield cluster


def _json(result) -> dict | list:
    return json.loads(result.stdout)


def _refused(result, code: str) -> None:
    assert result.returncode == 1, result
    assert result.stderr.startswith(f"fs3: error: {code}"), result.stderr


def test_user_verbs_for_an_admin_and_an_ordinary_user(cli_cluster, tmp_path):
    assert _json(run_cli(cli_cluster, "whoami", "--json"))["name"] == "root"
    added = _json(run_cli(cli_cluster, "user-add", "alice", "--uid", "1000", "--gid", "1000", "--groups", "10,20",
                          "--json"))
    assert (added["name"], added["uid"], added["groups"], added["admin"], added["root"]) == (
        "alice", 1000, [10, 20], False, False)
    alice = added["token"]
    assert alice.startswith("fs3_")
    listed = {user["name"]: user for user in _json(run_cli(cli_cluster, "users", "--json"))}
    assert set(listed) == {"root", "alice"} and listed["root"]["admin"] and listed["root"]["root"]
    assert "alice" in run_cli(cli_cluster, "users").stdout

    # Plain output: the token alone on stdout, for TOKEN=$(fs3 user-add ...).
    plain = run_cli(cli_cluster, "user-add", "ops", "--uid", "1001", "--gid", "1001", "--admin")
    assert plain.stdout.strip().startswith("fs3_") and len(plain.stdout.split()) == 1
    assert "added user ops" in plain.stderr
    ops = plain.stdout.strip()
    assert _json(run_cli(cli_cluster, "--token", ops, "whoami", "--json"))["admin"] is True

    me = _json(run_cli(cli_cluster, "--token", alice, "whoami", "--json"))
    assert (me["name"], me["uid"], me["gid"], me["admin"]) == ("alice", 1000, 1000, False)
    assert "alice: uid 1000" in run_cli(cli_cluster, "--token", alice, "whoami").stdout
    _refused(run_cli(cli_cluster, "--token", alice, "users", check=False), "PERMISSION_DENIED")
    _refused(run_cli(cli_cluster, "--token", alice, "user-add", "mallory", "--uid", "0", "--gid", "0", "--admin",
                     check=False), "PERMISSION_DENIED")
    _refused(run_cli(cli_cluster, "--token", alice, "user-remove", "root", check=False), "PERMISSION_DENIED")
    _refused(run_cli(cli_cluster, "--token", alice, "user-token", "root", check=False), "PERMISSION_DENIED")
    _refused(run_cli(cli_cluster, "--token", alice, "init", "--table-id", "7", check=False), "PERMISSION_DENIED")
    assert run_cli(cli_cluster, "--token", alice, "ls", "/", "--json").returncode == 0  # the namespace is hers too

    # Her own token she may rotate; written to a file, 0600.
    token_file = tmp_path / "alice.token"
    rotated = _json(run_cli(cli_cluster, "--token", alice, "user-token", "alice", "--token-file", str(token_file),
                            "--json"))
    assert rotated["name"] == "alice" and rotated["token"] is None and rotated["token_file"] == str(token_file)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    _refused(run_cli(cli_cluster, "--token", alice, "whoami", check=False), "UNAUTHENTICATED")
    new_alice = token_file.read_text().strip()
    assert _json(run_cli(cli_cluster, "whoami", "--json", env={"FS3_TOKEN_FILE": str(token_file)}))["name"] == "alice"
    again = _json(run_cli(cli_cluster, "user-token", "alice", "--json"))  # an admin rotates it
    assert again["token"] != new_alice
    _refused(run_cli(cli_cluster, "--token", new_alice, "whoami", check=False), "UNAUTHENTICATED")

    removed = run_cli(cli_cluster, "user-remove", "alice")
    assert "removed user alice" in removed.stderr
    _refused(run_cli(cli_cluster, "--token", again["token"], "whoami", check=False), "UNAUTHENTICATED")
    assert {user["name"] for user in _json(run_cli(cli_cluster, "users", "--json"))} == {"root", "ops"}
    _refused(run_cli(cli_cluster, "user-remove", "nobody", check=False), "ENOENT")
    _refused(run_cli(cli_cluster, "user-add", "ops", "--uid", "1", "--gid", "1", check=False), "EEXIST")
    _refused(run_cli(cli_cluster, "user-add", "bad name", "--uid", "1", "--gid", "1", check=False), "BAD_REQUEST")
    bad_groups = run_cli(cli_cluster, "user-add", "x", "--uid", "1", "--gid", "1", "--groups", "a,b", check=False)
    assert bad_groups.returncode == 1 and "--groups" in bad_groups.stderr
    run_cli(cli_cluster, "--token", ops, "user-remove", "ops")  # root is still an admin: allowed
    _refused(run_cli(cli_cluster, "user-remove", "root", check=False), "EPERM")  # never the last admin


def test_where_the_token_comes_from(cli_cluster, tmp_path):
    added = _json(run_cli(cli_cluster, "user-add", "bob", "--uid", "2000", "--gid", "2000", "--json"))
    bob = added["token"]
    bob_file = tmp_path / "bob.token"
    bob_file.write_text(bob + "\n")
    # The fixtures name the admin token with FS3_TOKEN_FILE; without it, the local cluster's admin.token is used.
    local_only = {"FS3_TOKEN_FILE": None, "FS3_TOKEN": None}
    assert _json(run_cli(cli_cluster, "whoami", "--json", env=local_only))["name"] == "root"
    assert _json(run_cli(cli_cluster, "whoami", "--json", env={"FS3_TOKEN_FILE": str(bob_file)}))["name"] == "bob"
    assert _json(run_cli(cli_cluster, "whoami", "--json", env={"FS3_TOKEN": bob}))["name"] == "bob"
    # --token beats FS3_TOKEN, which beats FS3_TOKEN_FILE.
    assert _json(run_cli(cli_cluster, "--token", cli_cluster.token, "whoami", "--json",
                         env={"FS3_TOKEN": bob}))["name"] == "root"
    assert _json(run_cli(cli_cluster, "whoami", "--json", env={"FS3_TOKEN": cli_cluster.token,
                                                             "FS3_TOKEN_FILE": str(bob_file)}))["name"] == "root"
    _refused(run_cli(cli_cluster, "--token", "fs3_forged", "ls", "/", check=False), "UNAUTHENTICATED")
    nowhere = run_cli(cli_cluster, "ls", "/", "--mgmtd", cli_cluster.mgmtd_address, check=False,
                      env={**local_only, "FS3_LOCAL_DIR": str(tmp_path / "no-cluster")})
    _refused(nowhere, "UNAUTHENTICATED")
    assert "no token" in nowhere.stderr and "FS3_TOKEN" in nowhere.stderr
    run_cli(cli_cluster, "user-remove", "bob")


def test_new_token_needs_no_cluster(cli_cluster, tmp_path):
    printed = run_cli(cli_cluster, "new-token", env={"FS3_TOKEN_FILE": None}).stdout.strip()
    assert printed.startswith("fs3_") and len(printed) > 40
    path = tmp_path / "bootstrap.token"
    run_cli(cli_cluster, "new-token", "--token-file", str(path))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_text().strip() != printed
