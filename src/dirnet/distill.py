"""RBD: Representation-align Binarization-aware Distillation (our reconstruction).

    L = CE(z_s, y)
      + alpha * tau^2 * KL(softmax(z_t / tau) || softmax(z_s / tau))
      + beta  * sum_l || f_s^l / ||f_s^l||  -  f_t^l / ||f_t^l|| ||_2   (mean over the batch)

Representations are captured with forward hooks on modules of the same name
in teacher and student (``binarize`` keeps names), so no architecture needs
code of its own. The teacher is frozen and in eval mode.

Verified vs reconstruction: the DIR-Net paper names RBD (distil the
representations of a full-precision network into the binary one) but its
formulas were not available to this project; the loss above is our
reconstruction. Its KD term is Hinton et al.'s (:func:`kd_loss`).

Reference: Qin, Zhang, Gong, Ding, Xu, Liu, "Distribution-sensitive
Information Retention for Accurate Binary Neural Network", IJCV 2022,
arXiv:2109.12338
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dirnet.nn import BINARY_LAYERS


def _contains_binary(m: nn.Module) -> bool:
    return any(isinstance(x, BINARY_LAYERS) for x in m.modules())


def stage_names(student: nn.Module) -> list[str]:
    """Default aligned layers: the outputs of the residual stages.

    Zoo models name them in a ``stage_names`` attribute. For other models: walks down from the root: at the first level where two or more children
    contain binary layers, those children are the stages (ResNet ``layer1..4``,
    MobileNet's blocks). If the binary layers are themselves direct children
    (a flat network such as VGG-Small), the stages are the modules right
    before each pooling/flatten that follows a binary layer, i.e. the
    output of each block of convs.
    """
    declared = getattr(student, "stage_names", None)
    if declared:
        return list(declared)
    prefix, node = "", student
    while True:
        children = [(n, c) for n, c in node.named_children() if _contains_binary(c)]
        if any(isinstance(c, BINARY_LAYERS) for _, c in children):
            return _flat_stages(node, prefix)
        if len(children) >= 2:
            return [prefix + n for n, _ in children]
        if len(children) == 1:
            n, node = children[0]
            prefix = prefix + n + "."
            continue
        return []


def block_names(student: nn.Module) -> list[str]:
    """Finer aligned layers: every block of the network (ResNet ``layer1.0`` ...).

    A block is a child of a ``nn.Sequential`` that holds binary layers without
    being one. A stage that is such a sequence (ResNet's ``layer1``) gives its
    blocks; a stage that is itself a block (MobileNet's ``features.3``) gives
    every block of the sequence it sits in. A flat stage (VGG-Small: binary
    convs side by side) stays aligned as a whole. Each stage's output is the
    output of its last block, so these layers include the stage outputs.
    """
    modules = dict(student.named_modules())

    def blocks_in(seq: str) -> list[str]:
        if not isinstance(modules[seq], nn.Sequential):
            return []
        pre = f"{seq}." if seq else ""
        return [pre + n for n, c in modules[seq].named_children()
                if _contains_binary(c) and not isinstance(c, BINARY_LAYERS)]

    names: list[str] = []
    for stage in stage_names(student):
        found = blocks_in(stage) or blocks_in(stage.rpartition(".")[0]) or [stage]
        names += [n for n in found if n not in names]
    return names


def aligned_layers(student: nn.Module, layers: str | list[str] | None) -> list[str]:
    """Resolve the ``layers`` setting: ``"auto"`` (stages), ``"blocks"``, or explicit names."""
    if layers == "auto":
        return stage_names(student)
    if layers == "blocks":
        return block_names(student)
    if isinstance(layers, str):
        raise ValueError(f"distill.layers must be 'auto', 'blocks' or a list of module names, got {layers!r}")
    return list(layers or [])


def _flat_stages(node: nn.Module, prefix: str) -> list[str]:
    pools = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten)
    names, seen_binary, last = [], False, None
    for n, c in node.named_children():
        if isinstance(c, BINARY_LAYERS):
            seen_binary = True
        if isinstance(c, pools) and seen_binary and last is not None:
            names.append(prefix + last)
            seen_binary = False
        last = n
    return names


class FeatureHooks:
    """Record the outputs of named modules during a forward pass."""

    def __init__(self, model: nn.Module, names: Iterable[str]):
        self.features: dict[str, Tensor] = {}
        self.handles = []
        modules = dict(model.named_modules())
        for name in names:
            if name not in modules:
                raise ValueError(f"distill layer {name!r} is not a module of the model; "
                                 f"some names: {list(modules)[:20]}")
            self.handles.append(modules[name].register_forward_hook(self._hook(name)))

    def _hook(self, name: str):
        def hook(_module, _inp, out):
            self.features[name] = out
        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def representation_loss(fs: Tensor, ft: Tensor) -> Tensor:
    """RBD's representation term: the distance between L2-normalised features, batch mean.

        L_rep = mean_n ‖ f_s[n] / ‖f_s[n]‖₂ − f_t[n] / ‖f_t[n]‖₂ ‖₂

    f_s[n], f_t[n] are sample n's student and teacher features, flattened and
    computed in float32. Gradients flow into the student only (the teacher's
    features come from a frozen network run under ``no_grad``).

    Reconstruction: this project's reading of DIR-Net's "representation-align"
    distillation (the paper's formula was not available).

    Reference: Qin, Zhang, Gong, Ding, Xu, Liu, "Distribution-sensitive
    Information Retention for Accurate Binary Neural Network", IJCV 2022,
    arXiv:2109.12338
    """
    s = F.normalize(fs.flatten(1).float(), dim=1)
    t = F.normalize(ft.flatten(1).float(), dim=1)
    diff = s - t
    # The norm has an infinite slope at 0: a sample whose features agree exactly (both all
    # zero, e.g. a stage a ReLU silenced in both networks) turned the gradient into NaN
    # (binary EfficientNet-B0 with RBD). Such a sample contributes 0 with a zero gradient;
    # the others go through the same norm as before, so their values are unchanged.
    same = (diff == 0).all(dim=1, keepdim=True)
    dist = torch.where(same, torch.ones_like(diff), diff).norm(dim=1)
    return torch.where(same.squeeze(1), torch.zeros_like(dist), dist).mean()


def kd_loss(zs: Tensor, zt: Tensor, tau: float) -> Tensor:
    """Knowledge distillation: the KL divergence of softened logits, scaled by τ².

        L_kd = τ² · KL(softmax(z_t/τ) ‖ softmax(z_s/τ))     batch mean, in float32

    The τ² factor keeps the gradients' size about constant as τ changes.
    Settings: ``tau`` (the temperature τ > 0).

    Reference: Hinton, Vinyals, Dean, "Distilling the Knowledge in a Neural
    Network", NIPS 2014 Deep Learning Workshop, arXiv:1503.02531
    """
    return F.kl_div(F.log_softmax(zs.float() / tau, dim=1), F.log_softmax(zt.float() / tau, dim=1),
                    reduction="batchmean", log_target=True) * tau * tau


class RBDLoss(nn.Module):
    """RBD loss: cross-entropy plus distillation from a frozen full-precision teacher.

        L = CE(z_s, y) + α·τ²·KL(softmax(z_t/τ) ‖ softmax(z_s/τ)) + β·Σ_l L_rep(f_s^l, f_t^l)

    z_s, z_t are the student's and teacher's logits, f^l the outputs of the
    aligned layers l (:func:`kd_loss`, :func:`representation_loss`).
    ``forward(student, x, y) -> (loss, logits, parts)``, with ``parts`` the
    detached terms (``ce``, and ``kd`` / ``rep`` when they are on).

    Settings: ``alpha`` (α, 0.25; 0 drops the KD term), ``beta`` (β, 1.0; 0
    drops the representation term and its hooks), ``tau`` (τ, 1.0), ``layers``
    ("auto": the stage outputs, :func:`stage_names`; "blocks": every block,
    :func:`block_names`; or a list of module names).

    Other tasks: ``task_loss(output, y)`` replaces CE (its part is then called
    ``task``) and ``logits(output)`` says which (N, K) scores KD compares, e.g.
    a detector's class scores per anchor. The defaults are classification's.

    The default weights were chosen on held-out data for ResNet-20 on CIFAR-10 at
    the CPU budget: the paper's starting point (alpha 1, tau 4) cost 16.7 points
    there, because the tau^2-scaled KD term's gradients outweigh cross-entropy's.

    Reconstruction: the CE + KD + representation form is this project's reading
    of DIR-Net's RBD (see the module docstring); the KD term is Hinton et al.'s.

    Reference: Qin, Zhang, Gong, Ding, Xu, Liu, "Distribution-sensitive
    Information Retention for Accurate Binary Neural Network", IJCV 2022,
    arXiv:2109.12338; Hinton, Vinyals, Dean, "Distilling the Knowledge in a
    Neural Network", NIPS 2014 Deep Learning Workshop, arXiv:1503.02531
    """

    def __init__(self, student: nn.Module, teacher: nn.Module, *, alpha: float = 0.25,
                 beta: float = 1.0, tau: float = 1.0, layers: str | list[str] = "auto",
                 task_loss: Callable[[Any, Tensor], Tensor] | None = None,
                 logits: Callable[[Any], Tensor] | None = None):
        super().__init__()
        self.task_loss, self.logits = task_loss, logits
        if tau <= 0:
            raise ValueError(f"tau must be positive, got {tau}")
        self.alpha, self.beta, self.tau = float(alpha), float(beta), float(tau)
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        names = aligned_layers(student, layers)
        self.layers = names if self.beta > 0 else []
        self.s_hooks = FeatureHooks(student, self.layers)
        self.t_hooks = FeatureHooks(self.teacher, self.layers)

    def train(self, mode: bool = True):  # the teacher stays in eval mode
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, student: nn.Module, x: Tensor, y: Tensor):
        zs = student(x)
        with torch.no_grad():
            zt = self.teacher(x)
        if self.task_loss is None:
            loss = F.cross_entropy(zs, y)
            parts = {"ce": loss.detach()}
        else:
            loss = self.task_loss(zs, y)
            parts = {"task": loss.detach()}
        if self.alpha > 0:
            kd = kd_loss(zs, zt, self.tau) if self.logits is None else \
                kd_loss(self.logits(zs), self.logits(zt), self.tau)
            parts["kd"] = kd.detach()
            loss = loss + self.alpha * kd
        if self.layers:
            rep = sum(representation_loss(self.s_hooks.features[n], self.t_hooks.features[n])
                      for n in self.layers)
            parts["rep"] = rep.detach()
            loss = loss + self.beta * rep
        return loss, zs, parts
