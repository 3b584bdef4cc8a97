"""`dirnet demo` end to end on a slice of the embedded data: table, curves, export."""
import json

from dirnet.cli import main as cli


def test_demo_prints_table_and_writes_run_dir(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli(["demo", "--epochs", "1", "--train-subset", "256", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "model" in text and "top-1" in text and "size" in text
    assert "resnet20 fp" in text and "resnet20 dirnet (1-bit)" in text
    assert str(out) in text
    png = out / "training_curves.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = json.loads((out / "demo.json").read_text())
    fp_row, bn_row = result["rows"]
    assert fp_row["size_bytes"] > 16 * bn_row["size_bytes"]
    if result["deployed"]:  # the native runtime is built in this install
        assert (out / "dirnet.dbnn").exists() and result["deployed"]["native_ms"] > 0
        capsys.readouterr()
        assert cli(["eval", str(out / "dirnet.dbnn")]) == 0  # it records its data set: no --data
        assert "test (2000 images)" in capsys.readouterr().out
    assert (out / "fp" / "checkpoints" / "last.pt").exists()
    assert (out / "dirnet" / "metrics.jsonl").exists()
    assert cli(["demo", "--out", str(out)]) == 2  # refuses to overwrite a finished demo
