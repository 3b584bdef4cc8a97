"""``dirnet bench``'s ONNX Runtime fp32 baseline: timed beside PyTorch when installed, noted when not."""
from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from dirnet.deploy import bench

HAVE_ORT = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))
needs_ort = pytest.mark.skipif(not HAVE_ORT, reason="onnxruntime/onnx not installed (pip install dirnet[bench])")


def _bench(tmp_path, *extra: str) -> dict:
    from dirnet.deploy._native import kernels

    out = tmp_path / "r.json"
    report, path = bench.run(["--arch", "resnet20", "--input-size", "3", "16", "16", "--batch", "1",
                              "--threads", "1", "--reps", "1", "--warmup", "1", "--no-per-layer",
                              "--kernels", kernels().paths()[0], "--out", str(out), *extra])
    assert path == out
    on_disk = json.loads(out.read_text())
    assert on_disk["onnxruntime"] == report["onnxruntime"]
    return on_disk


@needs_ort
def test_onnxruntime_is_timed_beside_pytorch(tmp_path, capsys):
    import onnxruntime

    r = _bench(tmp_path)
    o = r["onnxruntime"]
    assert o["version"] == onnxruntime.__version__
    assert "skipped" not in o and "_files" not in o
    assert o["session"]["inter_op_num_threads"] == 1 and o["session"]["execution_mode"] == "ORT_SEQUENTIAL"
    assert o["max_abs_diff_vs_torch"]["batch1_threads1"] < 1e-3
    (row,) = r["end_to_end"]
    path = r["kernels_timed"][0]
    assert row["ms"]["onnxruntime_fp32"] > 0
    assert row["speedup_vs_onnxruntime"][path] == pytest.approx(
        row["ms"]["onnxruntime_fp32"] / row["ms"][f"native_{path}"])
    assert set(row["speedup"]) == set(row["speedup_vs_onnxruntime"]) == {path}
    printed = capsys.readouterr().out
    assert "ONNX Runtime fp32 ms" in printed and f"{path} vs ORT" in printed
    assert f"ONNX Runtime {onnxruntime.__version__}" in printed


@needs_ort
def test_onnxruntime_that_disagrees_with_pytorch_is_not_timed(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ORT_RTOL", -1.0)  # no output can pass
    r = _bench(tmp_path)
    assert "differ from PyTorch" in r["onnxruntime"]["skipped"]
    (row,) = r["end_to_end"]
    assert "onnxruntime_fp32" not in row["ms"] and "speedup_vs_onnxruntime" not in row
    assert row["speedup"]  # the PyTorch comparison is unaffected


def test_missing_onnxruntime_is_noted(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    assert bench._onnxruntime() is None
    r = _bench(tmp_path)
    assert r["onnxruntime"] == "not installed (pip install dirnet[bench])"
    (row,) = r["end_to_end"]
    assert set(row["ms"]) == {"torch_fp32", f"native_{r['kernels_timed'][0]}"}
    assert "speedup_vs_onnxruntime" not in row and row["speedup"]
    printed = capsys.readouterr().out
    assert "ONNX Runtime fp32: not installed (pip install dirnet[bench])" in printed
    assert "vs ORT" not in printed


def test_detector_arch_is_refused_clearly(tmp_path):
    with pytest.raises(SystemExit, match="detector"):
        bench.run(["--arch", "ssd_resnet20", "--out", str(tmp_path / "r.json")])
