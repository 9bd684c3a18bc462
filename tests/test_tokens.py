"""Tokens: random, stored as hashes, kept in owner-only files, found in a fixed order.

Goal: `resolve_token` takes the explicit token, then FS3_TOKEN, then
FS3_TOKEN_FILE, then the local cluster's admin.token, and says precisely what
is missing when none gives one.
"""

from __future__ import annotations

import os
import stat

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.tokens import new_token, read_token_file, resolve_token, token_digest, write_token_file


def test_tokens_are_random_and_hashed():
    first, second = new_token(), new_token()
    assert first != second and first.startswith("fs3_") and len(first) > 40
    assert len(token_digest(first)) == 32 and token_digest(first) != token_digest(second)


def test_token_files_are_owner_only(tmp_path):
    path = tmp_path / "t.token"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_token_file(path, "fs3_secret")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read_token_file(path) == "fs3_secret"
    (tmp_path / "empty").write_text("\n")
    for missing in (tmp_path / "empty", tmp_path / "absent"):
        with pytest.raises(Fs3Error) as refused:
            read_token_file(missing)
        assert refused.value.code == StatusCode.UNAUTHENTICATED and str(missing) in refused.value.message


def test_resolution_order(tmp_path, monkeypatch):
    local = tmp_path / "local"
    local.mkdir()
    monkeypatch.setenv("FS3_LOCAL_DIR", str(local))
    monkeypatch.delenv("FS3_TOKEN", raising=False)
    monkeypatch.delenv("FS3_TOKEN_FILE", raising=False)
    with pytest.raises(Fs3Error) as refused:
        resolve_token()
    assert refused.value.code == StatusCode.UNAUTHENTICATED and "admin.token" in refused.value.message
    write_token_file(local / "admin.token", "from-local-cluster")
    assert resolve_token() == "from-local-cluster"
    write_token_file(tmp_path / "file.token", "from-file")
    monkeypatch.setenv("FS3_TOKEN_FILE", str(tmp_path / "file.token"))
    assert resolve_token() == "from-file"
    monkeypatch.setenv("FS3_TOKEN", "from-environment")
    assert resolve_token() == "from-environment"
    assert resolve_token("explicit") == "explicit"
