"""Deployment: bit-packed ``.dbnn`` files and a native XNOR-popcount runtime.

    dirnet.deploy.export(model, "model.dbnn", precision="fp16")
    rt = dirnet.deploy.load("model.dbnn", threads=None)
    logits = rt(x)            # NCHW float tensor or array -> logits

Training code never imports this package (``dirnet.deploy`` is a lazy
attribute of ``dirnet``). See docs/deploy.md for the file format, the sign and
padding conventions and the kernel dispatch.
"""
from __future__ import annotations

from typing import Any

__all__ = ["FORMAT_VERSION", "DeployedModel", "ExportError", "FormatError", "export", "load"]


def __getattr__(name: str) -> Any:
    # The exporter needs torch.fx, the runtime only numpy + the extension:
    # import each side when it is first used.
    if name in ("export", "ExportError"):
        from dirnet.deploy import exporter as _export_mod

        return getattr(_export_mod, "export" if name == "export" else "ExportError")
    if name in ("load", "DeployedModel"):
        from dirnet.deploy import runtime

        return getattr(runtime, name)
    if name in ("FormatError", "FORMAT_VERSION"):
        from dirnet.deploy import fileformat

        return getattr(fileformat, name)
    raise AttributeError(f"module 'dirnet.deploy' has no attribute {name!r}")
