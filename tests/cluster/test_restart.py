"""Files survive a whole-cluster restart (`fs3 local down` then `up`)."""

from __future__ import annotations

import hashlib
import os

from tests.conftest import run_cli, running_cluster


def test_files_written_before_down_are_intact_after_up(tmp_path):
    with running_cluster(tmp_path / "cluster") as cluster:
        expected = {}
        run_cli(cluster, "mkdir", "-p", "/keep/nested")
        for index, size in enumerate([0, 1, 4095, 1 << 20, (3 << 20) + 17, 9 << 20]):
            local = tmp_path / f"source-{index}"
            data = os.urandom(size)
            local.write_bytes(data)
            remote = f"/keep/nested/file-{index}"
            run_cli(cluster, "put", str(local), remote)
            expected[remote] = hashlib.sha256(data).hexdigest()
        run_cli(cluster, "local", "down")
        assert not any(cluster.running().values())
        run_cli(cluster, "local", "up", timeout=180)
        run_cli(cluster, "local", "status")
        for remote, digest in expected.items():
            back = tmp_path / "back"
            run_cli(cluster, "get", remote, str(back))
            assert hashlib.sha256(back.read_bytes()).hexdigest() == digest, remote
        listing = run_cli(cluster, "ls", "/keep/nested").stdout
        assert sorted(line.split()[-1] for line in listing.splitlines()) == sorted(
            name.rsplit("/", 1)[1] for name in expected
        )
