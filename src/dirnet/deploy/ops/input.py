"""The graph's input (file op ``input``): written by the exporter for the model's one argument."""
from __future__ import annotations

from dirnet.deploy.ops import register
from dirnet.deploy.ops.base import OpSpec, bad, get_int


def _parse_input(tt, raw, node, attrs, name) -> None:
    if get_int(attrs, "channels", name, 1, 65536) != tt.in_channels:
        raise bad(name, "input channels differ from the header")


# The planner handles "input" itself (the plan's input tensor); it takes no inputs.
register(OpSpec("input", parse=_parse_input, inputs=0))
