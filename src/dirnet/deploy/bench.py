"""``dirnet bench``: native .dbnn latency vs PyTorch fp32 (and ONNX Runtime fp32), end to end and per layer.

    dirnet bench --arch resnet18                     # ImageNet shape
    dirnet bench --arch resnet20 --batch 1 16
    dirnet bench model.dbnn --arch resnet20          # an exported file (baseline needs --arch)

Everything is measured side by side in one process, interleaved round by
round (PyTorch, then each native kernel path), so a machine shared with other
work slows both sides alike; medians after warm-up. When ``onnxruntime`` is
installed (``pip install dirnet[bench]``) the same fp32 model, exported with
``torch.onnx.export``, is timed in ONNX Runtime in the same rounds (end to end
only; its outputs must match PyTorch's first), the float engine most
deployments would otherwise use. Writes
``benchmarks/results/deploy_<arch>.json`` with the CPU model, its flags, the
threads, the load average and the exact command. It measures and passes no
verdict: the speed and size targets dirnet's own development set itself are
checked by ``benchmarks/bench_deploy.py`` in its repository.

Before every timed native call (and before each PyTorch block) the harness
sleeps until no other thread of this process runs or waits for a core
(``_settle``). Why: after a parallel region PyTorch's OpenMP workers keep
spin-waiting for 5-15 ms (libgomp's default wait policy). A native run started in that
window shares its second core with the spinner, its pool worker claims no
work, and a 2-thread run is timed like a 1-thread one. The per-layer harness
used to profile the first kernel path right after the PyTorch convs, so its
2-thread per-layer times equalled its 1-thread ones while the path timed
second scaled. The order of the native paths also rotates each round.

End to end, each timed call follows WARM_SECONDS (20 ms) of untimed calls of
the same engine, right after the settle: the timing is the steady-state
latency of back-to-back inference, for every engine alike. Why: the settle's
sleep lets the cores go idle, and a short call right after pays for waking
them. Measured on the dev VM (AMD EPYC, 2 vCPUs), int8 ResNet-18 at 2
threads, median of 40 calls: 0.87 ms back to back; 2.5 ms when each call
follows a 20 ms sleep; 1.7 ms with one untimed call between sleep and timing;
1.45 ms after 5 ms of calls, 0.89 ms after 10 ms, 0.87 ms after 20 ms.
PyTorch's and ONNX Runtime's 8-30 ms calls hide most of that cost; a 1 ms
native call does not, so without the warm-up the interleaved ratios
understated the native engine by up to 2-3x at 2 threads.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dirnet bench", description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", help="a .dbnn file (default: export --arch with random weights)")
    p.add_argument("--arch", default=None, help="zoo architecture for the PyTorch baseline (default resnet18)")
    p.add_argument("--method", default="dirnet", help="binarization recipe (default dirnet)")
    p.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="zoo builder option for --arch (repeatable), e.g. C=16 layers=8 for darts")
    p.add_argument("--input-size", type=int, nargs=3, metavar=("C", "H", "W"), default=None)
    p.add_argument("--num-classes", type=int, default=None)
    p.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--kernels", nargs="+", default=None,
                   help="kernel paths to time (default: the best, plus avx2 or neon when supported)")
    p.add_argument("--precision", choices=("fp16", "fp32", "int8"), default="fp16",
                   help="export precision (with --arch). int8: calibrated on random normal inputs (random "
                        "weights), and timed side by side with the fp16 export of the same model")
    p.add_argument("--int8-stem", choices=("int8", "fp32"), default="int8",
                   help="int8 with --arch: the layers reading the input as int8 (default) or fp32, which is "
                        "what a binary model whose stem fails the export's auto check gets")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--budget", type=float, default=20.0, help="seconds at most per measured configuration")
    p.add_argument("--no-per-layer", action="store_true")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/deploy_<arch>.json)")
    return p


def _model_args(items: list[str]) -> dict[str, Any]:
    """``--model-arg KEY=VALUE`` options as builder keyword arguments (values read as YAML scalars)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SystemExit(f"dirnet bench: --model-arg needs KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _timed(fn, warmup: int, reps: int, budget: float) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    t_end = time.perf_counter() + budget
    while len(out) < reps and (not out or time.perf_counter() < t_end):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _runnable_threads() -> int | None:
    """Threads of this process other than the caller that are running or waiting for a core (Linux; else None).

    CPU time alone misses a spinning thread the scheduler has preempted (the
    machine is busy): it burns nothing while it waits, then takes the core.
    """
    try:
        me = str(threading.get_native_id())
        n = 0
        for tid in os.listdir("/proc/self/task"):
            if tid == me:
                continue
            try:
                stat = Path(f"/proc/self/task/{tid}/stat").read_text()
            except OSError:  # the thread just exited
                continue
            if stat.rsplit(")", 1)[1].split()[0] == "R":
                n += 1
        return n
    except OSError:
        return None


def _settle(max_wait: float = 0.1, window: float = 0.001) -> float:
    """Sleep until no other thread of this process runs or spins (at most ``max_wait`` s); returns the wait.

    Spinning thread-pool workers (PyTorch's OpenMP ones for 5-15 ms after a
    parallel region, the native pool's for 0.2 ms) would otherwise take the
    core the next timed run's workers need; see the module docstring.
    """
    start = time.perf_counter()
    while True:
        c0, w0 = time.process_time(), time.perf_counter()
        time.sleep(window)
        w1 = time.perf_counter()
        idle = time.process_time() - c0 < 0.2 * (w1 - w0) and not _runnable_threads()
        if idle or w1 - start > max_wait:
            return w1 - start


def _rotated(keys: list[str], r: int) -> list[str]:
    """``keys`` rotated by ``r``: each kernel path is timed in every position of the round."""
    r %= max(1, len(keys))
    return keys[r:] + keys[:r]


#: Untimed back-to-back calls (seconds) before each timed end-to-end call (module docstring).
WARM_SECONDS = 0.02


def _interleaved(fns: dict[str, Any], warmup: int, reps: int, budget: float) -> dict[str, dict[str, float]]:
    """Median and minimum seconds of each callable, measured round-robin (order rotating, settled,
    each timed call after WARM_SECONDS of untimed ones)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    t_end = time.perf_counter() + budget
    for r in range(reps):
        for k in _rotated(list(fns), r):
            fn = fns[k]
            _settle()
            t_warm = time.perf_counter() + WARM_SECONDS  # steady state again after the sleep (docstring)
            fn()
            while time.perf_counter() < t_warm:
                fn()
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
        if r >= 2 and time.perf_counter() > t_end:
            break
    return {k: {"median": statistics.median(v), "min": min(v), "n": len(v)} for k, v in times.items()}


#: What the report says when the optional baseline is missing.
ORT_MISSING = "not installed (pip install dirnet[bench])"
#: ONNX Runtime's logits must match PyTorch's within this fraction of their largest magnitude.
ORT_RTOL = 1e-3


def _onnxruntime():
    """The ``onnxruntime`` module, or None when it (or ``onnx``, which the export needs) is not installed."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def _onnx_export(fp, x, path: Path) -> str:
    """Writes ``fp`` (fp32, eval) for input ``x`` (static shape) to ``path``; returns the exporter used.

    The TorchScript-based exporter (``dynamo=False``) needs only ``onnx``; where
    it fails (or a later torch has dropped it) the ``torch.export`` one, which
    needs ``onnxscript``, is tried.
    """
    import warnings

    import torch

    errors = []
    for dynamo in (False, True):
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(fp, (x,), str(path), input_names=["x"], output_names=["y"],
                                  dynamo=dynamo, verbose=False)
            return f"torch.onnx.export(dynamo={dynamo})"
        except Exception as e:  # noqa: BLE001 - any exporter failure falls through to the next one
            errors.append(f"dynamo={dynamo}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    raise RuntimeError("torch.onnx.export failed (" + "; ".join(errors) + ")")


def _ort_session(ort, path: Path, threads: int):
    """An InferenceSession as a latency-minded deployment makes one: ``threads`` intra-op threads,
    one inter-op thread, sequential execution, all graph optimizations, CPU provider."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def _ort_runner(ort, fp, x, threads: int, workdir: Path, info: dict) -> Any:
    """A callable timing ONNX Runtime on ``x``, or None (with ``info["skipped"]`` saying why).

    The model is exported once per input shape (cached in ``info``); before it is
    timed its output must match PyTorch's (``ORT_RTOL`` of the largest logit).
    """
    import numpy as np
    import torch

    key = "x".join(map(str, x.shape))
    exported = info.setdefault("_files", {})
    try:
        if key not in exported:
            path = workdir / f"baseline_{key}.onnx"
            info["exporter"] = _onnx_export(fp, x, path)
            exported[key] = path
        sess = _ort_session(ort, exported[key], threads)
        feed = {sess.get_inputs()[0].name: x.numpy()}
        got = sess.run(None, feed)[0]
    except Exception as e:  # noqa: BLE001 - an export/session failure skips the baseline, not the bench
        info["skipped"] = f"{type(e).__name__}: {e}"
        return None
    with torch.no_grad():
        ref = fp(x)
    ref = (ref[0] if isinstance(ref, (tuple, list)) else ref).numpy()
    diff = float(np.max(np.abs(got - ref))) if got.shape == ref.shape else float("inf")
    tol = ORT_RTOL * max(float(np.max(np.abs(ref))), 1e-12)
    info.setdefault("max_abs_diff_vs_torch", {})[f"batch{x.shape[0]}_threads{threads}"] = diff
    if not diff <= tol:
        info["skipped"] = (f"outputs differ from PyTorch's: max |diff| {diff:.3g} > {tol:.3g} "
                           f"({ORT_RTOL:g} of the largest logit); not timed")
        return None
    return lambda: sess.run(None, feed)


def _default_size(arch: str) -> tuple[int, int, int]:
    return (3, 224, 224) if arch in ("resnet18", "resnet34") else (3, 32, 32)


def _state_dict_bytes(model) -> int:
    import torch

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


def _conv_inputs(model, x) -> dict[str, tuple[int, ...]]:
    """Input shape of every Conv2d (binary or not) by module name."""
    import torch
    from torch import nn

    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_pre_hook(
                lambda mod, inp, name=name: shapes.__setitem__(name, tuple(inp[0].shape))))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return shapes


def main(argv: list[str] | None = None) -> int:
    run(argv)
    return 0


def run(argv: list[str] | None = None) -> tuple[dict[str, Any], Path]:
    """``dirnet bench`` with ``argv``: measures, prints, writes the JSON; returns the report and its path.

    Leaves PyTorch's thread count as it found it (the benchmark sets it per
    configuration; a caller in the same process would otherwise inherit the last one).
    """
    import torch

    threads = torch.get_num_threads()
    try:
        return _run(argv)
    finally:
        torch.set_num_threads(threads)


def _run(argv: list[str] | None) -> tuple[dict[str, Any], Path]:
    args = _parser().parse_args(argv)
    import numpy as np
    import torch

    from dirnet import models
    from dirnet.convert import binarize
    from dirnet.deploy import exporter, runtime
    from dirnet.deploy._native import kernels
    from dirnet.detection.ssd import SSD  # importing dirnet.detection registers ssd_* with the zoo
    from dirnet.nn import BinaryConv2d

    K = kernels()
    arch = args.arch or ("resnet18" if args.model is None else None)
    paths = args.kernels or [K.paths()[0]] + [p for p in ("avx2", "neon") if p in K.paths()[1:]]
    for p in paths:
        if p not in K.paths():
            raise SystemExit(f"dirnet bench: kernel path {p!r} is not supported here ({', '.join(K.paths())})")
    tmpdir = tempfile.TemporaryDirectory()
    fp = bnn = None
    size = tuple(args.input_size) if args.input_size else None
    if arch is not None:
        size = size or _default_size(arch)
        ncls = args.num_classes or (1000 if size[1] >= 128 else 10)
        torch.manual_seed(0)
        fp = models.create(arch, num_classes=ncls, **_model_args(args.model_arg)).eval()
        if isinstance(fp, SSD):
            raise SystemExit(f"dirnet bench: {arch} is a detector; dirnet bench times classifiers. Export a "
                             "detector run with `dirnet export` (dirnet.deploy.detector); its latency vs "
                             "PyTorch: benchmarks/detection_native.py in dirnet's repository")
        bnn = binarize(copy.deepcopy(fp), method=args.method).eval()
    if args.model:
        model_path = Path(args.model)
    else:
        if bnn is None:
            raise SystemExit("dirnet bench: give a .dbnn file or --arch")
        model_path = Path(tmpdir.name) / f"{arch}.dbnn"
        calib = None
        if args.precision == "int8":  # random weights: there is no data to calibrate on
            g = torch.Generator().manual_seed(1)
            calib = [torch.randn(2, *size, generator=g) for _ in range(2)]
        # (the stem's "auto" check would judge random weights on random inputs: --int8-stem decides)
        stem = {"quantize_stem": args.int8_stem == "int8"} if args.precision == "int8" else {}
        exporter.export(bnn, model_path, precision=args.precision, input_size=size, calibration=calib, **stem)
    # int8 with --arch: the fp16 export of the same model, timed beside it ("<path>_fp16")
    compare: Path | None = None
    if args.model is None and args.precision == "int8":
        compare = Path(tmpdir.name) / f"{arch}_fp16.dbnn"
        exporter.export(bnn, compare, precision="fp16", input_size=size)
    labels = list(paths) + ([f"{p}_fp16" for p in paths] if compare is not None else [])
    probe = runtime.load(model_path, threads=1)
    size = size or probe.input_size
    if size is None:
        raise SystemExit("dirnet bench: the file has no input-size hint; pass --input-size C H W")
    report: dict[str, Any] = {
        "command": "dirnet bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "arch": arch or probe.header.get("architecture"),
        "method": args.method if args.model is None else None,
        "model_args": _model_args(args.model_arg),
        "input_size": list(size),
        "precision": probe.precision,
        "cpu": {"model": _cpu_model(), "flags": K.cpu_features(), "kernel_paths": K.paths(),
                "available_cpus": K.available_cpus(), "load_average_start": _load_average()},
        "torch": {"version": torch.__version__, "threads_default": torch.get_num_threads()},
        "timing": (f"median of up to {args.reps} interleaved runs after {args.warmup} warm-up runs; each timed "
                   f"call after {WARM_SECONDS * 1e3:g} ms of untimed calls of the same engine (steady state)"),
        "kernels_timed": labels,
    }
    if args.model is None and args.precision == "int8":
        report["calibration"] = (f"random normal inputs, 2 batches of 2 (random weights: no data), stem "
                                 f"{args.int8_stem} (--int8-stem, not the auto check); the <path>_fp16 columns "
                                 "time the fp16 export of the same model in the same run")
    ort = _onnxruntime()
    ort_info: dict[str, Any] = {}
    if ort is None:
        report["onnxruntime"] = ORT_MISSING
    else:
        import onnx

        ort_info = {"version": ort.__version__, "onnx_version": onnx.__version__,
                    "session": {"intra_op_num_threads": "the measured threads", "inter_op_num_threads": 1,
                                "execution_mode": "ORT_SEQUENTIAL", "graph_optimization_level": "ORT_ENABLE_ALL",
                                "providers": ["CPUExecutionProvider"]},
                    "check": f"max |ORT - PyTorch| <= {ORT_RTOL:g} x max |PyTorch logit|, before timing"}
        if fp is None:
            ort_info["skipped"] = "needs --arch (the PyTorch fp32 model it exports)"
        report["onnxruntime"] = ort_info
    # -- size
    sizes: dict[str, Any] = {"dbnn_bytes": model_path.stat().st_size}
    if fp is not None:
        sizes["fp32_state_dict_bytes"] = _state_dict_bytes(fp)
        sizes["ratio"] = sizes["fp32_state_dict_bytes"] / sizes["dbnn_bytes"]
        if args.model is None and args.precision == "fp16":
            p32 = Path(tmpdir.name) / "fp32.dbnn"
            exporter.export(bnn, p32, precision="fp32", input_size=size)
            sizes["dbnn_fp32_bytes"] = p32.stat().st_size
            sizes["ratio_fp32_export"] = sizes["fp32_state_dict_bytes"] / sizes["dbnn_fp32_bytes"]
    report["size"] = sizes
    # -- end to end
    e2e = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        natives = {p: runtime.load(model_path, threads=threads, kernel=p) for p in paths}
        if compare is not None:
            natives.update({f"{p}_fp16": runtime.load(compare, threads=threads, kernel=p) for p in paths})
        for batch in args.batch:
            x = torch.randn(batch, *size)
            xn = x.numpy()
            fns: dict[str, Any] = {}
            if fp is not None:
                def run_torch(x=x):
                    with torch.no_grad():
                        fp(x)
                fns["torch_fp32"] = run_torch
                if ort is not None and "skipped" not in ort_info:
                    ort_fn = _ort_runner(ort, fp, x, threads, Path(tmpdir.name), ort_info)
                    if ort_fn is not None:
                        fns["onnxruntime_fp32"] = ort_fn
            for p, rt in natives.items():
                fns[f"native_{p}"] = (lambda rt=rt, xn=xn: rt(xn))
            med = _interleaved(fns, args.warmup, args.reps if batch == 1 else max(3, args.reps // 3),
                               args.budget)
            row = {"batch": batch, "threads": threads, "runs": min(v["n"] for v in med.values()),
                   "ms": {k: v["median"] * 1e3 for k, v in med.items()},
                   "min_ms": {k: v["min"] * 1e3 for k, v in med.items()}}
            if fp is not None:
                row["speedup"] = {p: med["torch_fp32"]["median"] / med[f"native_{p}"]["median"] for p in labels}
                row["speedup_of_min"] = {p: med["torch_fp32"]["min"] / med[f"native_{p}"]["min"] for p in labels}
            if "onnxruntime_fp32" in med:
                o = med["onnxruntime_fp32"]
                row["speedup_vs_onnxruntime"] = {p: o["median"] / med[f"native_{p}"]["median"] for p in labels}
                row["speedup_of_min_vs_onnxruntime"] = {p: o["min"] / med[f"native_{p}"]["min"] for p in labels}
            e2e.append(row)
            print(_fmt_row(row), flush=True)
    report["end_to_end"] = e2e
    ort_info.pop("_files", None)
    # -- per layer (batch 1)
    if not args.no_per_layer:
        report["per_layer"] = _per_layer(args, fp, bnn, model_path, size, paths, runtime, torch, np,
                                         BinaryConv2d, compare)
        report["per_layer_sum_ms"] = _layer_sums(report["per_layer"])
    report["cpu"]["load_average_end"] = _load_average()
    if _oversubscribed(report):
        report["warning"] = ("PyTorch got slower with 2 threads than with 1: the machine's cores are busy "
                             "with other work, so the 2-thread ratios measure contention, not the kernels")
    out = Path(args.out) if args.out else Path("benchmarks/results") / f"deploy_{report['arch'] or 'model'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(_summary(report))
    print(f"wrote {out}")
    tmpdir.cleanup()
    return report, out


def _fmt_row(row: dict) -> str:
    ms = ", ".join(f"{k} {v:.3f} ms" for k, v in row["ms"].items())
    sp = ", ".join(f"{k} {v:.2f}x" for k, v in row.get("speedup", {}).items())
    so = ", ".join(f"{k} {v:.2f}x" for k, v in row.get("speedup_vs_onnxruntime", {}).items())
    return (f"batch {row['batch']:>2} threads {row['threads']}: {ms}" + (f" | speedup {sp}" if sp else "")
            + (f" | vs onnxruntime {so}" if so else ""))


def _per_layer(args, fp, bnn, model_path, size, paths, runtime, torch, np, BinaryConv2d,
               compare: Path | None = None) -> list[dict]:
    """Per native op (batch 1), interleaved round by round with PyTorch's fp32 conv of the same shape
    (and, with ``compare``, the same op of that file: an int8 export's fp16 twin, "<path>_fp16")."""
    rows: list[dict] = []
    x1 = torch.randn(1, *size)
    shapes = _conv_inputs(fp, x1) if fp is not None else {}
    fp_modules = dict(fp.named_modules()) if fp is not None else {}
    binary = {n for n, m in bnn.named_modules() if isinstance(m, BinaryConv2d)} if bnn is not None else set()
    xn = x1.numpy()
    for threads in args.threads:
        torch.set_num_threads(threads)
        rts = {p: runtime.load(model_path, threads=threads, kernel=p) for p in paths}
        names = [n for n, _ in rts[paths[0]].profile(xn, 1)]
        if compare is not None:
            for p in paths:
                rt = runtime.load(compare, threads=threads, kernel=p)
                if [n for n, _ in rt.profile(xn, 1)] == names:  # same plan, op for op
                    rts[f"{p}_fp16"] = rt
        timed = list(rts)
        convs = {}
        for label in names:
            conv_name = label.split("+")[0]
            if conv_name in shapes:
                convs[label] = (fp_modules[conv_name], torch.randn(shapes[conv_name]), conv_name)
        for _ in range(args.warmup):
            for rt in rts.values():
                rt.profile(xn, 1)
        native: dict[str, list[list[float]]] = {p: [] for p in timed}
        torch_t: dict[str, list[float]] = {label: [] for label in convs}
        t_end = time.perf_counter() + 2 * args.budget
        for r in range(args.reps):
            for p in _rotated(timed, r):
                _settle()
                native[p].append([t for _, t in rts[p].profile(xn, 1)])
            _settle()
            with torch.no_grad():
                for label, (m, xin, _) in convs.items():
                    t0 = time.perf_counter()
                    m(xin)
                    torch_t[label].append(time.perf_counter() - t0)
            if r >= 2 and time.perf_counter() > t_end:
                break
        for i, label in enumerate(names):
            med = {p: statistics.median(run[i] for run in native[p]) for p in timed}
            low = {p: min(run[i] for run in native[p]) for p in timed}
            row: dict[str, Any] = {"threads": threads, "op": label, "native_ms": {p: v * 1e3 for p, v in med.items()},
                                   "native_min_ms": {p: v * 1e3 for p, v in low.items()},
                                   "pool_threads": {p: rt.threads for p, rt in rts.items()}}
            if label in convs:
                m, _, conv_name = convs[label]
                t = statistics.median(torch_t[label])
                row["torch_conv_fp32_ms"] = t * 1e3
                row["torch_conv_fp32_min_ms"] = min(torch_t[label]) * 1e3
                row["binary"] = conv_name in binary
                row["kernel"] = list(m.kernel_size)
                row["speedup_vs_torch_conv"] = {p: t / med[p] for p in timed}
                row["speedup_of_min_vs_torch_conv"] = {p: min(torch_t[label]) / low[p] for p in timed}
            rows.append(row)
    return rows


def _layer_sums(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Sum of the per-op medians per thread count and path: a check against the end-to-end batch-1 time."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        d = out.setdefault(str(row["threads"]), {})
        for p, v in row["native_ms"].items():
            d[p] = d.get(p, 0.0) + v
    return out


def _oversubscribed(report: dict) -> bool:
    """True when a second thread made PyTorch slower: the cores are busy with other work."""
    rows = {r["threads"]: r for r in report["end_to_end"] if r["batch"] == 1 and "torch_fp32" in r["ms"]}
    return 1 in rows and 2 in rows and rows[2]["ms"]["torch_fp32"] > rows[1]["ms"]["torch_fp32"]


def _onnxruntime_note(report: dict) -> str:
    """One line on the ONNX Runtime baseline: its version, or why it was not timed."""
    o = report.get("onnxruntime")
    if o is None:
        return ""
    if isinstance(o, str):
        return f"ONNX Runtime fp32: {o}"
    line = f"ONNX Runtime {o['version']} fp32 (onnx {o['onnx_version']}, {o.get('exporter', 'not exported')})"
    return line + (f": not timed, {o['skipped']}" if "skipped" in o else "")


def _summary(report: dict) -> str:
    paths = report["kernels_timed"]
    has_ort = any("onnxruntime_fp32" in r["ms"] for r in report["end_to_end"])
    head = "| batch | threads | PyTorch fp32 ms | " + ("ONNX Runtime fp32 ms | " if has_ort else "")
    head += " | ".join(f"{p} ms | {p} vs PyTorch" + (f" | {p} vs ORT" if has_ort else "") for p in paths) + " |"
    lines = [f"## dirnet bench: {report['arch']} ({report['precision']}), input {report['input_size']}",
             f"CPU: {report['cpu']['model']} ({report['cpu']['flags']}), load {report['cpu']['load_average_start']}",
             "", head, "|---|---|---|" + ("---|" if has_ort else "") + ("---|---|" + ("---|" if has_ort else "")) * len(paths)]
    nan = float("nan")
    for r in report["end_to_end"]:
        cells = [str(r["batch"]), str(r["threads"]), f"{r['ms'].get('torch_fp32', nan):.2f}"]
        if has_ort:
            cells.append(f"{r['ms'].get('onnxruntime_fp32', nan):.2f}")
        for p in paths:
            cells += [f"{r['ms'][f'native_{p}']:.3f}", f"{r.get('speedup', {}).get(p, nan):.2f}x"]
            if has_ort:
                cells.append(f"{r.get('speedup_vs_onnxruntime', {}).get(p, nan):.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    if _onnxruntime_note(report):
        lines.append("\n" + _onnxruntime_note(report))
    s = report["size"]
    if "ratio" in s:
        lines.append(f"\nfile {s['dbnn_bytes'] / 1e6:.2f} MB vs fp32 state dict "
                     f"{s['fp32_state_dict_bytes'] / 1e6:.2f} MB: {s['ratio']:.1f}x smaller")
    if "calibration" in report:
        lines.append(f"int8 calibration: {report['calibration']}")
    if "warning" in report:
        lines.append(f"WARNING: {report['warning']}")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
