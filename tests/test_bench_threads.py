"""The per-layer bench must time each kernel path with the requested thread count.

Regression: the per-layer harness profiled the first kernel path right after
PyTorch's convs, while PyTorch's OpenMP workers were still spin-waiting on the
second core, so avx512's 2-thread per-layer times equalled its 1-thread ones.
"""
from __future__ import annotations

import json
import threading
import time

import pytest
import torch

from dirnet.deploy import bench


@pytest.fixture
def torch_threads():
    """Restores PyTorch's thread count after a test that sets it."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_settle_waits_for_a_spinning_thread():
    deadline = time.perf_counter() + 0.05

    def spin() -> None:
        while time.perf_counter() < deadline:
            pass

    t = threading.Thread(target=spin)
    t.start()
    bench._settle(max_wait=1.0)
    settled_at = time.perf_counter()
    t.join()
    assert settled_at >= deadline - 0.005


def test_settle_after_torch_leaves_no_spinning_thread(torch_threads):
    torch.set_num_threads(2)
    conv = torch.nn.Conv2d(16, 16, 3, padding=1).eval()
    x = torch.randn(1, 16, 32, 32)
    with torch.no_grad():
        for _ in range(5):
            conv(x)
    bench._settle(max_wait=0.5)
    assert bench._runnable_threads() in (0, None)  # PyTorch's OpenMP worker no longer spins (or waits to)
    c0 = time.process_time()
    time.sleep(0.005)
    assert time.process_time() - c0 < 0.002  # nothing of ours is burning CPU now


def test_rotated_puts_every_path_first():
    keys = ["avx512", "avx2"]
    assert {bench._rotated(keys, r)[0] for r in range(2)} == set(keys)
    assert bench._rotated([], 3) == []


def test_per_layer_uses_requested_threads(tmp_path):
    from dirnet.deploy._native import kernels

    path = kernels().paths()[0]
    out = tmp_path / "r.json"
    assert bench.main(["--arch", "resnet20", "--batch", "1", "--threads", "1", "2", "--reps", "2",
                       "--warmup", "1", "--kernels", path, "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    rows = r["per_layer"]
    assert {row["threads"] for row in rows} == {1, 2}
    for row in rows:
        assert row["pool_threads"] == {path: row["threads"]}
    assert set(r["per_layer_sum_ms"]) == {"1", "2"}
    assert r["per_layer_sum_ms"]["2"][path] > 0


def test_bench_leaves_torch_threads_as_it_found_them(tmp_path, torch_threads):
    torch.set_num_threads(2)
    assert bench.main(["--arch", "resnet20", "--batch", "1", "--threads", "1", "--reps", "1", "--warmup", "0",
                       "--kernels", "reference", "--no-per-layer", "--out", str(tmp_path / "r.json")]) == 0
    assert torch.get_num_threads() == 2
