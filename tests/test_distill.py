"""RBD: zero when the student equals the teacher, hooks on the stage outputs, frozen teacher."""
import copy

import pytest
import torch

import dirnet
from dirnet.distill import RBDLoss, kd_loss, representation_loss, stage_names


def test_loss_zero_for_identical_student_positive_otherwise():
    torch.manual_seed(0)
    teacher = dirnet.models.create("resnet20").eval()
    student = copy.deepcopy(teacher).eval()
    rbd = RBDLoss(student, teacher, alpha=1.0, beta=1.0, tau=4.0)
    x, y = torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,))
    _, _, parts = rbd(student, x, y)
    assert parts["kd"].abs().item() < 1e-6 and parts["rep"].abs().item() < 1e-5
    bnn = dirnet.binarize(teacher, "dirnet").eval()
    rbd2 = RBDLoss(bnn, teacher)
    _, _, parts = rbd2(bnn, x, y)
    assert parts["kd"].item() > 1e-4 and parts["rep"].item() > 1e-3


def test_formulas():
    zs, zt = torch.randn(3, 5), torch.randn(3, 5)
    tau = 2.0
    p_t = torch.softmax(zt / tau, 1)
    expected = (p_t * (p_t.log() - torch.log_softmax(zs / tau, 1))).sum(1).mean() * tau * tau
    torch.testing.assert_close(kd_loss(zs, zt, tau), expected)
    fs, ft = torch.randn(3, 2, 4, 4), torch.randn(3, 2, 4, 4)
    a = fs.flatten(1) / fs.flatten(1).norm(dim=1, keepdim=True)
    b = ft.flatten(1) / ft.flatten(1).norm(dim=1, keepdim=True)
    torch.testing.assert_close(representation_loss(fs, ft), (a - b).norm(dim=1).mean())


@pytest.mark.parametrize("arch,kw,expected", [
    ("resnet20", {}, ["layer1", "layer2", "layer3"]),
    ("resnet18", {"cifar": True}, ["layer1", "layer2", "layer3", "layer4"]),
])
def test_hooks_on_resnet_stages(arch, kw, expected):
    bnn = dirnet.binarize(dirnet.models.create(arch, **kw), "dirnet")
    assert stage_names(bnn) == expected


@pytest.mark.parametrize("arch,kw", [("vgg_small", {}), ("mobilenet_v2", {"small_input": True,
                                                                         "width_mult": 0.25})])
def test_hooks_land_on_intended_modules(arch, kw):
    fp = dirnet.models.create(arch, **kw)
    bnn = dirnet.binarize(fp, "dirnet")
    names = stage_names(bnn)
    assert names and names == list(fp.stage_names)
    modules = dict(bnn.named_modules())
    rbd = RBDLoss(bnn, fp)
    x = torch.randn(2, 3, 32, 32)
    rbd(bnn, x, torch.tensor([0, 1]))
    for n in names:
        assert n in modules
        fs, ft = rbd.s_hooks.features[n], rbd.t_hooks.features[n]
        assert fs.shape == ft.shape and fs.dim() == 4
    # each stage ends at a different resolution or channel count
    shapes = [tuple(rbd.s_hooks.features[n].shape[1:]) for n in names]
    assert len(set(shapes)) == len(shapes)


def test_generic_fallback_for_models_without_stage_names():
    from torch import nn

    flat = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Hardtanh(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Hardtanh(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                         nn.Hardtanh(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 64, 10))
    assert stage_names(dirnet.binarize(flat)) == ["5", "9"]


def test_no_gradient_reaches_the_teacher_and_it_stays_in_eval():
    teacher = dirnet.models.create("resnet20")
    student = dirnet.binarize(teacher, "dirnet")
    rbd = RBDLoss(student, teacher).train()
    assert not teacher.training
    bn = teacher.bn1 if hasattr(teacher, "bn1") else next(m for m in teacher.modules()
                                                          if isinstance(m, torch.nn.BatchNorm2d))
    before = bn.running_mean.clone()
    loss, _, _ = rbd(student.train(), torch.randn(4, 3, 32, 32), torch.randint(0, 10, (4,)))
    loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())
    assert torch.equal(bn.running_mean, before)
    assert any(p.grad is not None for p in student.parameters())


def test_config_defaults_are_rbdloss_defaults():
    """One choice of RBD weights: `dirnet train` and the Python API must not drift apart."""
    import inspect

    from dirnet.config import DistillConfig

    sig = inspect.signature(RBDLoss.__init__).parameters
    for key in ("alpha", "beta", "tau", "layers"):
        assert getattr(DistillConfig(), key) == sig[key].default, key


def test_block_layers_cover_every_block_and_end_at_each_stage():
    from dirnet.distill import aligned_layers

    bnn = dirnet.binarize(dirnet.models.create("resnet20"), "dirnet")
    blocks = aligned_layers(bnn, "blocks")
    assert blocks == [f"layer{s}.{b}" for s in (1, 2, 3) for b in range(3)]
    # the last block of each stage computes the stage's output
    x = torch.randn(2, 3, 32, 32)
    rbd = RBDLoss(bnn, dirnet.models.create("resnet20"), layers="blocks")
    rbd(bnn.eval(), x, torch.tensor([0, 1]))
    stage_out = {}
    hooks = [dict(bnn.named_modules())[s].register_forward_hook(
        lambda m, i, o, s=s: stage_out.__setitem__(s, o)) for s in stage_names(bnn)]
    bnn(x)
    for h in hooks:
        h.remove()
    for s in stage_names(bnn):
        torch.testing.assert_close(rbd.s_hooks.features[f"{s}.2"], stage_out[s])
    with pytest.raises(ValueError, match="blocks"):
        aligned_layers(bnn, "every")


@pytest.mark.parametrize("arch,kw", [("mobilenet_v2", {"small_input": True, "width_mult": 0.25}),
                                     ("vgg_small", {})])
def test_block_layers_on_block_stages_and_flat_stages(arch, kw):
    from dirnet.distill import block_names

    bnn = dirnet.binarize(dirnet.models.create(arch, **kw), "dirnet")
    stages, blocks = stage_names(bnn), block_names(bnn)
    assert set(stages) <= set(blocks) and len(set(blocks)) == len(blocks)
    if arch == "vgg_small":  # flat: binary convs side by side, nothing finer to align
        assert blocks == stages
    else:  # every block of the feature sequence, in order
        from dirnet.nn import BINARY_LAYERS

        seq = dict(bnn.named_modules())["features"]
        binary = [i for i in range(len(seq))
                  if any(isinstance(m, BINARY_LAYERS) for m in seq[i].modules())]
        assert blocks == [f"features.{i}" for i in binary] and len(blocks) > len(stages)


def test_teacher_is_loaded_frozen_and_must_match_the_run(tmp_path):
    from dirnet import checkpoint as ckpt
    from dirnet.config import load_config
    from dirnet.train.teacher import load_teacher

    fp = dirnet.models.create("resnet20", num_classes=10)
    path = tmp_path / "fp.pt"
    torch.save({"format": ckpt.FORMAT, "model": fp.state_dict(),
                "config": load_config(None, ["model.arch=resnet20", "method=fp"]).to_dict(),
                "num_classes": 10, "in_channels": 3, "image_size": 32}, path)
    cfg = load_config(None, ["model.arch=resnet20", "method=dirnet", f"distill.teacher={path}"])
    teacher = load_teacher(cfg, 10, 3, 32, "cpu")
    assert not teacher.training
    for k, v in fp.state_dict().items():
        assert torch.equal(teacher.state_dict()[k], v)
    with pytest.raises(ValueError, match="trained for"):
        load_teacher(cfg, 100, 3, 32, "cpu")


def test_representation_loss_of_identical_features_has_a_finite_gradient():
    """Features that agree exactly (both all zero: a stage a ReLU silenced in both networks) add 0
    and a zero gradient; the norm's slope at 0 once made binary EfficientNet-B0's RBD loss NaN."""
    fs = torch.zeros(3, 4, 2, 2, requires_grad=True)
    ft = torch.zeros(3, 4, 2, 2)
    with torch.no_grad():
        fs[0] += 1.0   # one sample differs: its term is the usual distance
        ft[0, 0] += 1.0
    loss = representation_loss(fs, ft)
    (grad,) = torch.autograd.grad(loss, fs)
    assert torch.isfinite(grad).all()
    assert (grad[1:] == 0).all()
    want = (torch.nn.functional.normalize(fs[:1].flatten(1), dim=1)
            - torch.nn.functional.normalize(ft[:1].flatten(1), dim=1)).norm(dim=1).sum() / 3
    assert torch.equal(loss.detach(), want.detach())
