"""DARTS cell genotypes (Liu, Simonyan, Yang, ICLR 2019).

A genotype lists, for each of a cell's intermediate nodes, two (op, input)
pairs: input 0/1 are the two previous cells' outputs, input k >= 2 is
intermediate node k-2 of this cell. ``*_concat`` names the nodes whose outputs
are concatenated into the cell's output.
"""

from __future__ import annotations

from collections import namedtuple

Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")

PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)

# Published DARTS CIFAR-10 cells (first-order V1 and second-order V2).
DARTS_V1 = Genotype(
    normal=[
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("skip_connect", 0),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("skip_connect", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("avg_pool_3x3", 0),
    ],
    reduce_concat=[2, 3, 4, 5],
)
DARTS_V2 = Genotype(
    normal=[
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 0),
        ("sep_conv_3x3", 1),
        ("sep_conv_3x3", 1),
        ("skip_connect", 0),
        ("skip_connect", 0),
        ("dil_conv_3x3", 2),
    ],
    normal_concat=[2, 3, 4, 5],
    reduce=[
        ("max_pool_3x3", 0),
        ("max_pool_3x3", 1),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
        ("max_pool_3x3", 0),
        ("skip_connect", 2),
        ("skip_connect", 2),
        ("max_pool_3x3", 1),
    ],
    reduce_concat=[2, 3, 4, 5],
)

GENOTYPES: dict[str, Genotype] = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "DARTS": DARTS_V2}


def check_cell(
    ops: object, concat: object, what: str
) -> tuple[tuple[tuple[str, int], ...], tuple[int, ...]]:
    """Validate one cell description; return it as tuples (hashable, immutable)."""
    try:
        pairs = tuple((str(op), int(idx)) for op, idx in ops)  # type: ignore[union-attr]
        nodes = tuple(int(i) for i in concat)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise TypeError(
            f"genotype.{what} must be a list of (op_name, input_index) pairs and "
            f"genotype.{what}_concat a list of node indices"
        ) from None
    if not pairs or len(pairs) % 2:
        raise ValueError(f"genotype.{what} needs an even, non-zero number of (op, input) pairs")
    steps = len(pairs) // 2
    for k, (op, idx) in enumerate(pairs):
        if op not in PRIMITIVES:
            raise ValueError(
                f"genotype.{what}: unknown op {op!r}; choose from {', '.join(PRIMITIVES)}"
            )
        if not 0 <= idx < 2 + k // 2:
            raise ValueError(
                f"genotype.{what}: pair {k} reads node {idx}, "
                f"but only nodes 0..{1 + k // 2} exist at that point"
            )
    if not nodes or any(not 0 <= i < 2 + steps for i in nodes):
        raise ValueError(
            f"genotype.{what}_concat must list nodes in 0..{1 + steps}, got {list(nodes)}"
        )
    return pairs, nodes


def resolve_genotype(genotype: object) -> Genotype:
    """Accept a Genotype-like object or the name of a published one (e.g. 'DARTS_V2')."""
    if isinstance(genotype, str):
        try:
            return GENOTYPES[genotype.upper()]
        except KeyError:
            raise ValueError(
                f"unknown genotype name {genotype!r}; known: {', '.join(GENOTYPES)}"
            ) from None
    fields = ("normal", "normal_concat", "reduce", "reduce_concat")
    if isinstance(genotype, dict):
        missing = [f for f in fields if f not in genotype]
        if missing:
            raise ValueError(f"genotype dict is missing {', '.join(missing)}")
        genotype = Genotype(**{f: genotype[f] for f in fields})
    if not all(hasattr(genotype, f) for f in fields):
        raise TypeError(
            f"genotype must be a Genotype (fields {', '.join(fields)}), a dict with those keys, "
            f"or one of {', '.join(GENOTYPES)}; got {type(genotype).__name__}"
        )
    g: Genotype = genotype  # type: ignore[assignment]
    normal, normal_concat = check_cell(g.normal, g.normal_concat, "normal")
    reduce, reduce_concat = check_cell(g.reduce, g.reduce_concat, "reduce")
    return Genotype(list(normal), list(normal_concat), list(reduce), list(reduce_concat))
