"""Markdown tables from benchmarks/results/deploy_<arch>.json (for BENCHMARKS.md (deployment section)).

    python benchmarks/deploy_report.py benchmarks/results/deploy_resnet18.json
"""
from __future__ import annotations

import json
import sys


def report(path: str) -> str:
    r = json.load(open(path))
    paths = r["kernels_timed"]
    out = [f"### {r['arch']} ({r['precision']} file), input {r['input_size']}", "",
           f"CPU: {r['cpu']['model']}; flags: {r['cpu']['flags']}; CPUs available: {r['cpu']['available_cpus']}; "
           f"load average at start/end: {r['cpu']['load_average_start']} / {r['cpu'].get('load_average_end')}; "
           f"torch {r['torch']['version']}.", f"Command: `{r['command']}`. Timing: {r['timing']}.", "",
           "| batch | threads | PyTorch fp32 (ms) | " + " | ".join(f"{p} (ms) | {p} speedup" for p in paths) + " |",
           "|---:|---:|---:|" + "---:|---:|" * len(paths)]
    for row in r["end_to_end"]:
        cells = [str(row["batch"]), str(row["threads"]), f"{row['ms']['torch_fp32']:.2f}"]
        for p in paths:
            cells += [f"{row['ms'][f'native_{p}']:.2f}", f"{row['speedup'][p]:.1f}x"]
        out.append("| " + " | ".join(cells) + " |")
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
    out += ["", "Targets:", ""]
    for k, v in r["targets"].items():
        if k == "warning":
            out.append(f"- **warning**: {v}")
        else:
            extra = f" (worst: {v['layer'].split('+')[0]})" if "layer" in v else ""
            out.append(f"- {k}: {v['value']:.1f} (target >= {v['target']:g}) {'met' if v['met'] else '**not met**'}{extra}")
    return "\n".join(out)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(report(p))
        print()
