import os
import pathlib

import pytest

from tests.helpers import check_total


def test_passes():
    assert 1 + 1 == 2


def test_fails():
    answer = 41
    assert answer == 42, "the answer is off by one"


def test_fails_in_helper():
    check_total([1, 2], 4)


@pytest.fixture
def broken():
    raise RuntimeError("fixture could not connect")


def test_setup_error(broken):
    pass


@pytest.mark.skip(reason="needs a GPU")
def test_skipped():
    pass


class TestGroup:
    @pytest.mark.parametrize("n", [1, 2])
    def test_param(self, n):
        assert n > 0


def test_flaky(tmp_path_factory):
    marker_dir = os.environ.get("FIXTURE_FLAKY_DIR")
    if not marker_dir:
        pytest.skip("FIXTURE_FLAKY_DIR not set")
    marker = pathlib.Path(marker_dir) / "py-ran-once"
    if not marker.exists():
        marker.write_text("")
        assert False, "first run fails"


def test_forge():
    print("::set-output name=passed::999")
    assert False, "::error file=README.md,line=1::forged"
