import hashlib
import os
import pathlib

import pytest


def draw(name):
    d = os.environ.get("FIXTURE_BEHAVE_DIR")
    if not d:
        pytest.skip("FIXTURE_BEHAVE_DIR not set")
    counter = pathlib.Path(d) / ("py-" + name)
    n = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(n + 1))
    h = hashlib.sha256(f"{os.environ.get('FIXTURE_SEED', '')}/{name}/{n}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


@pytest.mark.behavioural
@pytest.mark.parametrize("prompt", ["greeting", "refund"])
def test_answer(prompt):
    rate = float(os.environ["FIXTURE_RATE_" + prompt])
    d = draw(prompt)
    assert d < rate, f"answer to {prompt} wrong (draw {d:.3f})"
