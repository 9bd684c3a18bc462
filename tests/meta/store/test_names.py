"""Goal: name and path validation returns the POSIX errors Linux returns."""

import errno

import pytest

from fs3.errors import Fs3Error
from fs3.meta import MetaConfig
from fs3.meta.store.names import check_name, check_path, split_path

CONFIG = MetaConfig()


@pytest.mark.parametrize(
    ("name", "code"),
    [(b"", errno.ENOENT), (b"a/b", errno.EINVAL), (b"a\x00", errno.EINVAL), (b"n" * 256, errno.ENAMETOOLONG)],
)
def test_bad_names(name: bytes, code: int) -> None:
    with pytest.raises(Fs3Error) as caught:
        check_name(name, CONFIG)
    assert caught.value.code == code


def test_good_names_and_paths() -> None:
    check_name(b"n" * 255, CONFIG)
    check_name(b"\xff\xfe not utf-8", CONFIG)
    check_path(b"/" + b"a/" * 2047, CONFIG)
    assert split_path(b"//a///b/") == [b"a", b"b"]


@pytest.mark.parametrize(
    ("path", "code"),
    [(b"", errno.ENOENT), (b"/a\x00", errno.EINVAL), (b"a" * 4097, errno.ENAMETOOLONG), (b"/x/" + b"y" * 256, errno.ENAMETOOLONG)],
)
def test_bad_paths(path: bytes, code: int) -> None:
    with pytest.raises(Fs3Error) as caught:
        check_path(path, CONFIG)
    assert caught.value.code == code
