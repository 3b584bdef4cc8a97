"""Deployment targets and Markdown tables from benchmarks/results/deploy_<arch>.json.

    python benchmarks/deploy_report.py benchmarks/results/deploy_resnet18.json

The tables are those of BENCHMARKS.md (deployment section). The targets are
issue 5's, judged here and not in the library (``dirnet bench`` only
measures): at batch 1 the native runtime at least 8x faster than PyTorch fp32
end to end, every binary 3x3 conv at least 12x faster than PyTorch's fp32 conv
of the same shape, and the .dbnn file at least 16x smaller than the fp32 state
dict. ``benchmarks/bench_deploy.py`` writes them into the JSON as ``targets``;
a JSON without them (plain ``dirnet bench``) is judged here from its
measurements.
"""
from __future__ import annotations

import json
import sys
from typing import Any

#: Issue 5's targets: speed-ups over PyTorch fp32 at batch 1, and the file size ratio.
TARGETS = {"end_to_end_speedup": 8.0, "binary_3x3_speedup": 12.0, "size_ratio": 16.0}


def targets(report: dict) -> dict[str, Any]:
    """The issue's targets at each thread count (2 threads is the one the issue names),
    judged on the first (best) kernel path a ``dirnet bench`` report timed."""
    out: dict[str, Any] = {}
    best = report["kernels_timed"][0]
    for r in report["end_to_end"]:
        if r["batch"] == 1 and "speedup" in r:
            v = r["speedup"][best]
            out[f"end_to_end_speedup_threads{r['threads']}"] = {
                "value": v, "target": TARGETS["end_to_end_speedup"], "met": v >= TARGETS["end_to_end_speedup"],
                "kernels": best, "of_min_times": r["speedup_of_min"][best]}
    per = [r for r in report.get("per_layer", []) if r.get("binary") and r.get("kernel") == [3, 3]]
    for th in sorted({r["threads"] for r in per}):
        rows = [r for r in per if r["threads"] == th]
        worst = min(rows, key=lambda r: r["speedup_vs_torch_conv"][best])
        v = worst["speedup_vs_torch_conv"][best]
        out[f"binary_3x3_speedup_min_threads{th}"] = {
            "value": v, "layer": worst["op"], "target": TARGETS["binary_3x3_speedup"],
            "met": v >= TARGETS["binary_3x3_speedup"],
            "of_min_times": min(r["speedup_of_min_vs_torch_conv"][best] for r in rows)}
    if "ratio" in report["size"]:
        v = report["size"]["ratio"]
        out["size_ratio"] = {"value": v, "target": TARGETS["size_ratio"], "met": v >= TARGETS["size_ratio"],
                             "precision": report["precision"]}
    if "warning" in report:  # dirnet bench's own caveat: the machine's cores were busy
        out["warning"] = report["warning"]
    return out


def target_lines(judged: dict[str, Any]) -> list[str]:
    """One Markdown bullet per target (as BENCHMARKS.md lists them)."""
    out = []
    for k, v in judged.items():
        if k == "warning":
            out.append(f"- **warning**: {v}")
        else:
            extra = f" (worst: {v['layer'].split('+')[0]})" if "layer" in v else ""
            out.append(f"- {k}: {v['value']:.1f} (target >= {v['target']:g}) "
                       f"{'met' if v['met'] else '**not met**'}{extra}")
    return out


def report(path: str) -> str:
    r = json.load(open(path))
    paths = r["kernels_timed"]
    ort = any("onnxruntime_fp32" in row["ms"] for row in r["end_to_end"])
    out = [f"### {r['arch']} ({r['precision']} file), input {r['input_size']}", "",
           f"CPU: {r['cpu']['model']}; flags: {r['cpu']['flags']}; CPUs available: {r['cpu']['available_cpus']}; "
           f"load average at start/end: {r['cpu']['load_average_start']} / {r['cpu'].get('load_average_end')}; "
           f"torch {r['torch']['version']}.", f"Command: `{r['command']}`. Timing: {r['timing']}.", "",
           "| batch | threads | PyTorch fp32 (ms) | " + ("ONNX Runtime fp32 (ms) | " if ort else "")
           + " | ".join(f"{p} (ms) | {p} speedup" + (f" | {p} vs ONNX Runtime" if ort else "") for p in paths)
           + " |",
           "|---:|---:|---:|" + ("---:|" if ort else "") + ("---:|---:|" + ("---:|" if ort else "")) * len(paths)]
    for row in r["end_to_end"]:
        cells = [str(row["batch"]), str(row["threads"]), f"{row['ms']['torch_fp32']:.2f}"]
        if ort:
            cells.append(f"{row['ms']['onnxruntime_fp32']:.2f}" if "onnxruntime_fp32" in row["ms"] else "-")
        for p in paths:
            cells += [f"{row['ms'][f'native_{p}']:.2f}", f"{row['speedup'][p]:.1f}x"]
            if ort:
                v = row.get("speedup_vs_onnxruntime", {}).get(p)
                cells.append(f"{v:.1f}x" if v is not None else "-")
        out.append("| " + " | ".join(cells) + " |")
    o = r.get("onnxruntime")
    if isinstance(o, str):
        out += ["", f"ONNX Runtime fp32: {o}."]
    elif isinstance(o, dict):
        out += ["", f"ONNX Runtime {o['version']} (onnx {o['onnx_version']}; {o.get('exporter', 'no export')}; "
                    "intra-op threads = threads, 1 inter-op thread, sequential, all graph optimizations)"
                + (f": not timed, {o['skipped']}." if "skipped" in o else ".")]
    s = r["size"]
    out += ["", f"File: {s['dbnn_bytes'] / 1e6:.2f} MB ({r['precision']}) vs fp32 state dict "
                f"{s['fp32_state_dict_bytes'] / 1e6:.2f} MB: **{s['ratio']:.1f}x smaller**"
            + (f"; fp32 export {s['dbnn_fp32_bytes'] / 1e6:.2f} MB ({s['ratio_fp32_export']:.1f}x)."
               if "dbnn_fp32_bytes" in s else ".")]
    for th in sorted({row["threads"] for row in r.get("per_layer", [])}):
        out += ["", f"Per layer, batch 1, {th} thread(s) (native op = conv + fused BN/residual/activation/pack; "
                    "PyTorch = the fp32 conv alone):", "",
                "| op | " + " | ".join(f"{p} (ms)" for p in paths) + " | PyTorch conv (ms) | "
                + " | ".join(f"{p} speedup" for p in paths) + " |",
                "|---|" + "---:|" * (2 * len(paths) + 1)]
        for row in r["per_layer"]:
            if row["threads"] != th or (row["native_ms"][paths[0]] < 0.01 and "torch_conv_fp32_ms" not in row):
                continue
            tc = row.get("torch_conv_fp32_ms")
            cells = [row["op"].split("+")[0] + (" (binary)" if row.get("binary") else "")]
            cells += [f"{row['native_ms'][p]:.3f}" for p in paths]
            cells += [f"{tc:.3f}" if tc else ""]
            cells += [f"{row['speedup_vs_torch_conv'][p]:.1f}x" if tc else "" for p in paths]
            out.append("| " + " | ".join(cells) + " |")
    out += ["", "Targets:", "", *target_lines(r.get("targets") or targets(r))]
    return "\n".join(out)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(report(p))
        print()
