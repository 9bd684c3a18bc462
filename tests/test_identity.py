"""Who may act as whom, and who may call what.

Goal: a user without the root flag can claim only its own uid and a gid and
groups among its own; root can claim anything; each access level admits
exactly the identities it names.
"""

from __future__ import annotations

from fs3.identity import Access, Identity

ALICE = Identity("alice", uid=1000, gid=1000, groups=(10, 20))
ADMIN = Identity("ops", uid=1001, gid=1001, admin=True)
SERVICE = Identity("fs3svc", uid=0, gid=0, root=True)


def test_an_ordinary_user_acts_only_as_itself():
    assert ALICE.may_act_as(1000, 1000, [])
    assert ALICE.may_act_as(1000, 10, [20, 1000])  # another of its own groups as the gid
    assert not ALICE.may_act_as(0, 0, [])
    assert not ALICE.may_act_as(1001, 1000, [])
    assert not ALICE.may_act_as(1000, 0, [])
    assert not ALICE.may_act_as(1000, 1000, [10, 0])  # a group it is not in
    assert not ADMIN.may_act_as(0, 0, [])  # admin is not root


def test_root_acts_as_anyone():
    assert SERVICE.may_act_as(4242, 7, [1, 2, 3])


def test_access_levels():
    assert [access.permits(ALICE) for access in Access] == [True, False, False, False]
    assert [access.permits(ADMIN) for access in Access] == [True, True, True, False]
    assert [access.permits(SERVICE) for access in Access] == [True, False, True, True]
