"""The AVX2 binary conv kernel, before and after: ResNet-18 per layer and end to end vs PyTorch fp32.

    python benchmarks/avx2_kernels.py --base-lib OLD_kernels.so --threads 1 2 \
        --out benchmarks/results/avx2_kernels.json

Two builds of the ``dirnet._kernels`` extension (``--base-lib``: the one
before the change, e.g. a copy of the installed .so taken before rebuilding;
``--new-lib``: default the installed one) run in two worker processes
(``DIRNET_KERNELS_LIB``), each with the same exported ResNet-18 (random
weights, seed 0, as ``dirnet bench``) on the ``avx2`` path. The parent times
PyTorch fp32 and asks the workers for a per-op profile and an end-to-end call
in rotating order, round after round, so the machine's noise falls on every
side alike (``dirnet bench``'s settle pause before each call). Per op: the
median of the workers' ``profile`` times and of PyTorch's Conv2d of the same
shape; end to end: median (and minimum) of single calls. A third worker
times the same PyTorch model with its kernels limited to AVX2
(``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``), the closer baseline
for an AVX2-only CPU, in the same rounds.

``--insn`` adds instruction counts per binary MAC of each kernel's
binary 3x3 convs (valgrind --tool=callgrind on bconv_layers.cpp, compiled here
against ``--core-lib`` and ``--base-src``, an older avx2.cpp).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: PyTorch with its CPU kernels limited to AVX2 (oneDNN and ATen), the closer baseline for an AVX2-only CPU.
AVX2_TORCH_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
sys.path.insert(0, str(HERE))
from machine import machine_info  # noqa: E402


def _worker(model: str, threads: int) -> None:
    import numpy as np

    from dirnet.deploy import runtime

    rt = runtime.load(model, threads=threads, kernel="avx2")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    out = sys.stdout
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "profile":
            res = [[n, t] for n, t in rt.profile(x, 1)]
        elif cmd == "e2e":
            t0 = time.perf_counter()
            rt(x)
            res = time.perf_counter() - t0
        elif cmd == "logits":
            res = np.asarray(rt(x)).ravel().tolist()
        else:
            return
        out.write(json.dumps(res) + "\n")
        out.flush()


def _torch_worker(convs_file: str, threads: int) -> None:
    """PyTorch fp32 in its own process (here: started with its CPU ISA limited to AVX2)."""
    import torch

    from dirnet import models
    from dirnet.deploy import bench

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    fp = models.create("resnet18", num_classes=1000).eval()
    x1 = torch.randn(1, 3, 224, 224)
    shapes = bench._conv_inputs(fp, x1)
    mods = dict(fp.named_modules())
    labels = json.loads(Path(convs_file).read_text())
    convs = {label: (mods[c], torch.randn(shapes[c])) for label, c in labels.items()}
    for line in sys.stdin:
        if line.strip() != "torch":
            return
        with torch.no_grad():
            times = {}
            for label, (m, xin) in convs.items():
                t0 = time.perf_counter()
                m(xin)
                times[label] = time.perf_counter() - t0
            bench._settle()
            t0 = time.perf_counter()
            fp(x1)
            times["<end to end>"] = time.perf_counter() - t0
        sys.stdout.write(json.dumps([torch.backends.cpu.get_cpu_capability(), times]) + "\n")
        sys.stdout.flush()


class Worker:
    def __init__(self, env: dict, args: list[str]):
        self.p = subprocess.Popen([sys.executable, __file__, *args], env=dict(os.environ, **env),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, cmd: str):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def close(self) -> None:
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait()


def _insn_counts(args) -> list[dict]:
    """Instructions per binary MAC of the old and new kernel on each binary 3x3 conv (callgrind)."""
    root = HERE.parent
    tmp = Path(tempfile.mkdtemp())
    src = Path(args.base_src).read_text()
    src = src.replace("bconv2d_avx2_isa", "bconv2d_avx2v0_isa").replace("void bconv2d_avx2(", "void bconv2d_avx2_v0(")
    (tmp / "avx2_v0.cpp").write_text(src)
    inc = ["-I", str(root / "csrc/core"), "-DDIRNET_X86=1", "-std=c++17"]
    subprocess.run(["g++", "-O3", "-ffp-contract=off", "-mavx2", "-mfma", "-mpopcnt", *inc, "-c",
                    str(tmp / "avx2_v0.cpp"), "-o", str(tmp / "avx2_v0.o")], check=True)
    exe = tmp / "bconv_layers"
    subprocess.run(["g++", "-O2", *inc, str(HERE / "avx2_kernels/bconv_layers.cpp"), str(tmp / "avx2_v0.o"),
                    args.core_lib, "-lpthread", "-o", str(exe)], check=True)
    timing = json.loads(subprocess.run([str(exe), "time", "30"], check=True, capture_output=True,
                                       text=True).stdout)
    rows = []
    for i, layer in enumerate(timing):
        row = {"layer": layer["layer"], "binary_macs": layer["binary_macs"],
               "kernel_only_1thread_ms": {"old": layer["old_ms"], "new": layer["new_ms"]}}
        for which, fn in (("old", "bconv2d_avx2_v0"), ("new", "bconv2d_avx2")):
            out = tmp / f"cg.{which}.{i}"
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            f"--toggle-collect=dirnet::{fn}(*", str(exe), "run", which, str(i)],
                           check=True, capture_output=True)
            total = 0
            for line in out.read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
            row.setdefault("instructions", {})[which] = total
            row.setdefault("instructions_per_2048_binary_macs", {})[which] = total * 2048 / layer["binary_macs"]
            if which == "new":  # the popcount loops (tile_dots) vs the driver + fused epilogue
                ann = subprocess.run(["callgrind_annotate", str(out)], capture_output=True, text=True).stdout
                pop = sum(int(ln.split()[0].replace(",", "")) for ln in ann.splitlines()
                          if "tile_dots<" in ln and ln.strip()[:1].isdigit())
                row["new_popcount_share"] = pop / total
                row["new_epilogue_and_driver_share"] = 1 - pop / total
        rows.append(row)
        print(f"{layer['layer']:32s} insn/2048 MACs old {row['instructions_per_2048_binary_macs']['old']:6.1f}"
              f"  new {row['instructions_per_2048_binary_macs']['new']:6.1f} (epilogue+driver "
              f"{100 * row['new_epilogue_and_driver_share']:.0f}%)   kernel-only ms old "
              f"{layer['old_ms']:.3f} new {layer['new_ms']:.3f}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]))
        return 0
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--torch-worker":
        _torch_worker(sys.argv[2], int(sys.argv[3]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-lib", required=True, help="the dirnet._kernels .so before the change")
    ap.add_argument("--new-lib", default=None, help="the one after (default: the installed one)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--insn", action="store_true", help="also count instructions per binary MAC (valgrind)")
    ap.add_argument("--base-src", default=None, help="with --insn: the older avx2.cpp")
    ap.add_argument("--core-lib", default="build/native/libdirnet_core.a", help="with --insn")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)

    import dirnet._kernels as installed
    import torch

    from dirnet import models
    from dirnet.convert import binarize
    from dirnet.deploy import bench, exporter
    from dirnet.nn import BinaryConv2d

    new_lib = args.new_lib or installed.__file__
    torch.manual_seed(0)
    fp = models.create("resnet18", num_classes=1000).eval()
    bnn = binarize(copy.deepcopy(fp), method="dirnet").eval()
    tmp = Path(tempfile.mkdtemp())
    model = tmp / "m.dbnn"
    exporter.export(bnn, model, precision="fp16", input_size=(3, 224, 224))
    x1 = torch.randn(1, 3, 224, 224)
    shapes = bench._conv_inputs(fp, x1)
    mods = dict(fp.named_modules())
    binary = {n for n, m in bnn.named_modules() if isinstance(m, BinaryConv2d)}
    report = {"command": "python benchmarks/avx2_kernels.py " + " ".join(sys.argv[1:] if argv is None else argv),
              "model": "resnet18 (random weights, seed 0, dirnet binarization, fp16 export), 3x224x224, batch 1",
              "kernel_path": "avx2", "base_lib": args.base_lib, "new_lib": new_lib,
              "timing": f"{args.reps} rounds after {args.warmup} warm-up, order rotating: old worker, new worker, "
                        "PyTorch, PyTorch limited to AVX2 (per-layer Conv2d of the same shape, and the whole fp32 "
                        "model); medians",
              "torch_avx2_env": AVX2_TORCH_ENV,
              "machine": machine_info(), "load_average_start": bench._load_average(), "threads": {}}
    for threads in args.threads:
        torch.set_num_threads(threads)
        ws = {"old": Worker({"DIRNET_KERNELS_LIB": args.base_lib}, ["--worker", str(model), str(threads)]),
              "new": Worker({"DIRNET_KERNELS_LIB": new_lib}, ["--worker", str(model), str(threads)])}
        lo, ln = ws["old"].ask("logits"), ws["new"].ask("logits")
        if lo != ln:
            raise SystemExit("the two builds give different logits")
        names = [n for n, _ in ws["old"].ask("profile")]
        convs = {}
        for label in names:
            c = label.split("+")[0]
            if c in shapes:
                convs[label] = (mods[c], torch.randn(shapes[c]), c)
        labels_file = tmp / "convs.json"
        labels_file.write_text(json.dumps({label: c for label, (_, _, c) in convs.items()}))
        tw = Worker(AVX2_TORCH_ENV, ["--torch-worker", str(labels_file), str(threads)])
        prof = {k: [] for k in ws}
        e2e = {k: [] for k in (*ws, "torch", "torch_avx2")}
        tconv = {label: [] for label in convs}
        tconv2 = {label: [] for label in convs}
        isa2 = None
        for r in range(args.warmup + args.reps):
            for k in bench._rotated(["old", "new", "torch", "torch_avx2"], r):
                if k == "torch_avx2":
                    bench._settle()
                    isa2, times = tw.ask("torch")
                    if r >= args.warmup:
                        for label in convs:
                            tconv2[label].append(times[label])
                        e2e["torch_avx2"].append(times["<end to end>"])
                    continue
                bench._settle()
                if k == "torch":
                    with torch.no_grad():
                        times = {}
                        for label, (m, xin, _) in convs.items():
                            t0 = time.perf_counter()
                            m(xin)
                            times[label] = time.perf_counter() - t0
                        bench._settle()
                        t0 = time.perf_counter()
                        fp(x1)
                        te = time.perf_counter() - t0
                    if r >= args.warmup:
                        for label, t in times.items():
                            tconv[label].append(t)
                        e2e["torch"].append(te)
                else:
                    p = ws[k].ask("profile")
                    bench._settle()
                    te = ws[k].ask("e2e")
                    if r >= args.warmup:
                        prof[k].append([t for _, t in p])
                        e2e[k].append(te)
        for w in (*ws.values(), tw):
            w.close()
        rows = []
        for i, label in enumerate(names):
            row = {"op": label, "native_ms": {k: statistics.median(run[i] for run in prof[k]) * 1e3 for k in prof},
                   "native_min_ms": {k: min(run[i] for run in prof[k]) * 1e3 for k in prof}}
            if label in convs:
                m, _, c = convs[label]
                t = statistics.median(tconv[label]) * 1e3
                t2 = statistics.median(tconv2[label]) * 1e3
                row.update({"torch_conv_fp32_ms": t, "torch_conv_fp32_min_ms": min(tconv[label]) * 1e3,
                            "torch_avx2_conv_fp32_ms": t2,
                            "binary": c in binary, "kernel": list(m.kernel_size),
                            "speedup_vs_torch": {k: t / v for k, v in row["native_ms"].items()},
                            "speedup_vs_torch_avx2": {k: t2 / v for k, v in row["native_ms"].items()},
                            "new_vs_old": row["native_ms"]["old"] / row["native_ms"]["new"]})
            rows.append(row)
        ee = {k: statistics.median(v) * 1e3 for k, v in e2e.items()}
        em = {k: min(v) * 1e3 for k, v in e2e.items()}
        report["threads"][str(threads)] = {
            "end_to_end_ms": ee, "end_to_end_speedup_vs_torch": {k: ee["torch"] / ee[k] for k in ws},
            "end_to_end_speedup_vs_torch_avx2": {k: ee["torch_avx2"] / ee[k] for k in ws},
            "end_to_end_min_ms": em, "end_to_end_speedup_of_min_vs_torch": {k: em["torch"] / em[k] for k in ws},
            "end_to_end_speedup_of_min_vs_torch_avx2": {k: em["torch_avx2"] / em[k] for k in ws},
            "torch_avx2_cpu_capability": isa2,
            "per_op": rows, "rounds": len(e2e["torch"])}
        print(f"\n{threads} thread(s): end to end ms (median; min)  torch {ee['torch']:.2f}; {em['torch']:.2f}  "
              f"old {ee['old']:.2f}; {em['old']:.2f}  new {ee['new']:.2f}; {em['new']:.2f}  -> new vs torch "
              f"{ee['torch'] / ee['new']:.2f}x; {em['torch'] / em['new']:.2f}x, old vs torch {ee['torch'] / ee['old']:.2f}x;"
              f" {em['torch'] / em['old']:.2f}x")
        print(f"PyTorch limited to AVX2 ({isa2}): end to end {ee['torch_avx2']:.2f}; {em['torch_avx2']:.2f} ms "
              f"-> new {ee['torch_avx2'] / ee['new']:.2f}x; {em['torch_avx2'] / em['new']:.2f}x")
        print(f"{'op':30s} {'torch':>6s} {'t-avx2':>6s} {'old':>6s} {'new':>6s} new/old  old-x  new-x "
              "old-x2 new-x2")
        for row in rows:
            if row.get("binary") and row["kernel"] == [3, 3]:
                n, a, b = row["native_ms"], row["speedup_vs_torch"], row["speedup_vs_torch_avx2"]
                print(f"{row['op'].split('+')[0]:30s} {row['torch_conv_fp32_ms']:6.3f} "
                      f"{row['torch_avx2_conv_fp32_ms']:6.3f} {n['old']:6.3f} {n['new']:6.3f}  {row['new_vs_old']:5.2f}"
                      f"  {a['old']:5.2f}  {a['new']:5.2f}  {b['old']:5.2f}  {b['new']:5.2f}")
    report["load_average_end"] = bench._load_average()
    if args.insn:
        report["instructions"] = _insn_counts(args)
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
