"""End-to-end check of the aarch64 build under qemu-user (``make test-arm64``).

Exports two zoo models with seeded random weights and randomised BatchNorm
statistics (so signs and thresholds are far from trivial), binarized with the
``dirnet`` recipe (first conv, 1x1 stride-2 shortcuts and classifier stay fp32):

* ``resnet20``: CIFAR input 3x32x32, batch 2, 10 classes
* ``resnet18``: ImageNet input 3x224x224, batch 1, 1000 classes
* ``resnet20_int8``: ``resnet20`` exported with ``precision="int8"`` (the stem,
  shortcuts and classifier as int8 ``qconv2d`` / ``qlinear``, calibrated on
  seeded random inputs): x86 runs it with VNNI, aarch64 with SDOT or
  SMULL/SADALP, and the int32 sums make the bytes equal too
* ``efficientnet_b0``: 3x64x64, batch 2, 10 classes (depthwise convs, SiLU,
  sigmoid gates, ``mul``: the NEON gconv2d and unary kernels)

then runs each through the x86-64 ``dirnet-run`` (its default path, which the
C++ tests check bit for bit against ``reference``) and through the aarch64
``dirnet-run`` under qemu on every aarch64 path: ``neon`` and ``portable`` on a
Cortex-A72 model (no dot product), ``neon_dot`` on a Cortex-A76 model. The
logits must be the same bytes: every kernel adds in the reference's order
(fp convs with one FMA rounding per product; binary dots are exact integers),
and the NEON unary kernels compute the x86 vector paths' exp polynomial with
the same operations, so no tolerance is needed. One exception: the aarch64
``portable`` path computes SiLU / sigmoid with libm's ``expf`` where the x86
default path uses that polynomial (both within about 1 ulp), so
``efficientnet_b0`` on ``portable`` is compared to 1e-5 of the largest logit.
Exit status 0 iff every comparison passes.

    python csrc/tests/arm64_e2e.py --x86-run build/native/dirnet-run \\
        --arm64-run build/arm64/dirnet-run --work build/arm64/e2e
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

MODELS = {  # name: (input shape N, C, H, W, classes)
    "resnet20": ((2, 3, 32, 32), 10),
    "resnet18": ((1, 3, 224, 224), 1000),
    "resnet20_int8": ((2, 3, 32, 32), 10),
    "efficientnet_b0": ((2, 3, 64, 64), 10),
}
# (model, path): relative tolerance instead of identical bytes, and why
TOLERANT = {("efficientnet_b0", "portable"): 1e-5}  # libm expf vs the x86 vector exp
# (QEMU_CPU, kernel path) pairs the aarch64 binary runs on
ARM_RUNS = [("cortex-a72", "neon"), ("cortex-a72", "portable"), ("cortex-a76", "neon_dot")]


def export(name: str, classes: int, shape: tuple[int, ...], path: Path, seed: int = 0) -> None:
    precision, calibration = "fp32", None
    if name.endswith("_int8"):
        import torch

        name, precision = name[: -len("_int8")], "int8"
        g = torch.Generator().manual_seed(seed + 2)
        calibration = [torch.randn(4, *shape[1:], generator=g) for _ in range(2)]
    import torch

    import dirnet
    from dirnet.deploy import exporter
    from dirnet.models import create

    torch.manual_seed(seed)
    model = dirnet.binarize(create(name, num_classes=classes), "dirnet")
    g = torch.Generator().manual_seed(seed + 1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) * 0.6 - 0.3)
    stem = {"quantize_stem": True} if precision == "int8" else {}  # the int8 stem too, whatever the check says
    exporter.export(model.eval(), path, precision=precision, input_size=shape[1:], calibration=calibration, **stem)


def run(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {shlex.join(cmd)}\n{r.stdout}{r.stderr}")
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--x86-run", required=True, help="the host's dirnet-run")
    ap.add_argument("--arm64-run", required=True, help="the aarch64 dirnet-run")
    ap.add_argument("--work", required=True, help="scratch folder for the .dbnn, inputs and outputs")
    ap.add_argument("--qemu", default="qemu-aarch64 -L /usr/aarch64-linux-gnu",
                    help="emulator command line (default: %(default)s)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name in args.models:
        shape, classes = MODELS[name]
        dbnn = work / f"{name}.dbnn"
        export(name, classes, shape, dbnn)
        x = np.random.default_rng(123).standard_normal(shape).astype(np.float32)
        np.save(work / f"{name}.input.npy", x)
        common = [str(dbnn), "--input", str(work / f"{name}.input.npy"), "--repeat", "1", "--quiet"]
        want = work / f"{name}.x86.npy"
        run([args.x86_run, *common, "--output", str(want)])
        ref = np.load(want)
        if not np.isfinite(ref).all() or np.unique(ref).size < ref.size // 2:
            raise SystemExit(f"{name}: degenerate x86 logits (non-finite or mostly equal): nothing to compare")
        print(f"{name}: x86-64 dirnet-run (default path) logits {ref.shape}, |max| {np.abs(ref).max():.4g}")
        for cpu, path in ARM_RUNS:
            out = work / f"{name}.{path}.npy"
            env = dict(os.environ, QEMU_CPU=cpu)
            secs = run([*shlex.split(args.qemu), args.arm64_run, *common, "--kernel", path,
                        "--output", str(out)], env=env)
            got = np.load(out)
            same = got.shape == ref.shape and got.tobytes() == ref.tobytes()
            diff = float(np.abs(got.astype(np.float64) - ref).max()) if got.shape == ref.shape else float("nan")
            tol = TOLERANT.get((name, path))
            ok = same or (tol is not None and diff <= tol * float(np.abs(ref).max()))
            verdict = ("identical bytes" if same else
                       f"max |diff| {diff:.3g} (allowed {tol:g} x max |logit|)" if ok else
                       f"DIFFERENT (max |diff| {diff:.3g})")
            print(f"  aarch64 {path:9s} (qemu {cpu}, {secs:5.1f} s): {verdict}")
            bad += not ok
    print("arm64 end to end:", "ok" if bad == 0 else f"{bad} run(s) differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
