"""Ports for local cluster services: free, below the ephemeral range, never handed out twice.

A cluster's services bind their ports only when they start, so a port handed out a moment ago still
probes free: two services of one test cluster once drew the same port and one failed to start.
"""

from __future__ import annotations

from fs3.local.cluster import free_port


def test_free_port_never_hands_out_a_port_twice():
    ports = [free_port() for _ in range(2000)]
    assert len(set(ports)) == len(ports)
    assert all(10_000 <= port < 32_768 for port in ports)

