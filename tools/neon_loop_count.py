"""Instruction counts of the NEON inner loops (docs/deploy.md, "ARM64").

Disassembles an aarch64 object file (aarch64-linux-gnu-objdump -d), finds the
innermost loops (a backward branch and the instructions from its target to
it) that contain a given marker instruction (``cnt`` for the binary convs,
``fmla`` for the fp32 conv), and prints, per loop, the instruction mix: every
mnemonic, the SIMD ALU instructions (those on the vector registers other
than loads, stores and DUP from a general register, which the Cortex-A76
issues to an integer pipe), those DUPs, loads, stores and the rest.

    python tools/neon_loop_count.py build/arm64/CMakeFiles/dirnet_core.dir/core/ops/bconv2d/neon.cpp.o
    python tools/neon_loop_count.py OBJ --marker fmla

Dividing by the binary MACs (or FMAs) one trip of the loop performs (stated
in the docs for each kernel: pixels x channels x 64 bits per input word) gives
instructions per MAC; this script only counts.
"""
from __future__ import annotations

import argparse
import collections
import re
import subprocess

LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
BRANCH = re.compile(r"^(b|b\.\w+|cbnz|cbz|tbnz|tbz)$")
LOADS = ("ld1", "ld1r", "ld2", "ld3", "ld4", "ldr", "ldp", "ldur", "ldrb", "ldrh", "ldrsw")
STORES = ("st1", "str", "stp", "stur")


def parse(obj: str, tool: str) -> list[tuple[int, str, str]]:
    out = subprocess.run([tool, "-d", "--no-show-raw-insn", obj], capture_output=True, text=True, check=True).stdout
    ins = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return ins


def loops(ins: list[tuple[int, str, str]]) -> list[tuple[int, int]]:
    idx = {a: i for i, (a, _, _) in enumerate(ins)}
    found = []
    for i, (a, mn, ops) in enumerate(ins):
        if not BRANCH.match(mn):
            continue
        t = re.search(r"\b([0-9a-f]+)\s*<", ops)
        if not t:
            continue
        target = int(t.group(1), 16)
        if target <= a and target in idx:
            found.append((idx[target], i))
    return found


def is_vector(ops: str) -> bool:
    return bool(re.search(r"\bv\d+\.|\bq\d+\b|\bd\d+\b|\bs\d+\b", ops))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("obj")
    ap.add_argument("--marker", default="cnt")
    ap.add_argument("--objdump", default="aarch64-linux-gnu-objdump")
    args = ap.parse_args()
    ins = parse(args.obj, args.objdump)
    cands = [(s, e) for s, e in loops(ins) if any(ins[k][1] == args.marker for k in range(s, e + 1))]
    # innermost: no other candidate strictly inside
    inner = [(s, e) for s, e in cands if not any((s2, e2) != (s, e) and s <= s2 and e2 <= e for s2, e2 in cands)]
    for s, e in sorted(set(inner)):
        body = ins[s:e + 1]
        mix = collections.Counter(mn for _, mn, _ in body)
        loads = sum(1 for _, mn, _ in body if mn.startswith(LOADS))
        stores = sum(1 for _, mn, _ in body if mn.startswith(STORES))
        dupg = sum(1 for _, mn, ops in body if mn == "dup" and re.search(r",\s*x\d+\s*$", ops))
        simd = sum(1 for _, mn, ops in body if is_vector(ops) and not mn.startswith(LOADS + STORES)) - dupg
        print(f"loop {body[0][0]:#x}..{body[-1][0]:#x}: {len(body)} instructions: SIMD ALU {simd}, "
              f"DUP from a general register {dupg}, loads {loads}, stores {stores}, "
              f"other {len(body) - simd - dupg - loads - stores}")
        print("   ", ", ".join(f"{k} {v}" for k, v in sorted(mix.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
