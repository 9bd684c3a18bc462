"""The heartbeat lease: serving stops after half the heartbeat timeout without a successful heartbeat."""

from __future__ import annotations

import pytest

from fs3.errors import Fs3Error, StatusCode
from fs3.storage.lease import HeartbeatLease, lease_valid


def test_lease_holds_for_less_than_half_the_timeout():
    assert lease_valid(100.0, 4.0, 100.0)
    assert lease_valid(100.0, 4.0, 101.99)
    assert not lease_valid(100.0, 4.0, 102.0)
    assert not lease_valid(100.0, 4.0, 150.0)


def test_no_lease_before_the_first_heartbeat_or_without_a_timeout():
    assert not lease_valid(0.0, 4.0, 1.0)
    assert not lease_valid(100.0, 0.0, 100.0)


def test_a_clock_before_the_heartbeat_is_not_a_lease():
    assert not lease_valid(100.0, 4.0, 99.0)


def test_lease_object_follows_heartbeats_and_raises_target_not_serving():
    clock = {"now": 10.0, "last": 0.0}
    lease = HeartbeatLease(lambda: clock["last"], lambda: 3.0, lambda: clock["now"])
    with pytest.raises(Fs3Error) as caught:
        lease.check()
    assert caught.value.code == StatusCode.TARGET_NOT_SERVING
    clock["last"] = 10.0
    lease.check()
    clock["now"] = 11.4
    assert lease.valid()
    clock["now"] = 11.5
    assert not lease.valid()
    clock["last"] = 11.5  # heartbeats succeed again: serving resumes at once
    assert lease.valid()
    assert HeartbeatLease.always().valid()
