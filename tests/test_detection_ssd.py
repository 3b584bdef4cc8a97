"""SSD detectors: zoo registration, shapes, binarization with every method, RBD points, fx."""
import pytest
import torch
import torch.fx
from torch import nn

import dirnet
from dirnet.detection import SSD, multibox_loss, postprocess
from dirnet.distill import FeatureHooks, block_names, representation_loss

TARGETS = [{"boxes": torch.tensor([[0.1, 0.2, 0.5, 0.7]]), "labels": torch.tensor([1])},
           {"boxes": torch.tensor([[0.5, 0.5, 0.9, 0.95], [0.0, 0.0, 0.2, 0.1]]),
            "labels": torch.tensor([0, 2])}]


def test_registered_in_the_zoo_with_options():
    assert {"ssd_resnet18", "ssd_resnet20"} <= set(dirnet.models.names())
    m = dirnet.models.create("ssd_resnet20", num_classes=3, input_size=96, width=8)
    assert isinstance(m, SSD) and m.num_classes == 3 and m.input_size == 96
    with pytest.raises(TypeError, match="unknown option"):
        dirnet.models.create("ssd_resnet20", num_classes=3, backbone="resnet18")
    with pytest.raises(ValueError, match="backbone must be one of"):
        SSD("vgg", num_classes=2)
    with pytest.raises(ValueError, match="aspect_ratios needs 6 lists"):
        SSD("resnet20", num_classes=2, input_size=64, aspect_ratios=[(2,)])


@pytest.mark.parametrize("name, size, levels", [
    ("ssd_resnet20", 160, (20, 10, 5, 3, 2, 1)), ("ssd_resnet20", 75, (10, 5, 3, 2, 1, 1)),
    ("ssd_resnet18", 96, (12, 6, 3, 2, 1, 1))])
def test_outputs_match_the_anchors(name, size, levels):
    m = dirnet.models.create(name, num_classes=3, input_size=size).eval()
    loc, conf = m(torch.randn(2, 3, size, size))
    assert m.feature_sizes == levels
    assert loc.shape == (2, m.num_anchors, 4) and conf.shape == (2, m.num_anchors, 4)
    assert m.anchors.shape == (m.num_anchors, 4)
    assert "anchors" not in m.state_dict()  # rebuilt from the constructor arguments
    assert len(m.stage_names) == len(set(m.stage_names))
    modules = dict(m.named_modules())
    assert all(n in modules for n in m.stage_names)


def test_fp_detector_learns_a_batch():
    torch.manual_seed(0)
    m = dirnet.models.create("ssd_resnet20", num_classes=3, input_size=64, width=8)
    x = torch.randn(2, 3, 64, 64)
    opt = torch.optim.Adam(m.parameters(), 1e-2)
    losses = []
    for _ in range(40):
        loss, parts = multibox_loss(*m(x), m.anchors, TARGETS)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.4 * losses[0] and parts["num_pos"] >= 3
    with torch.no_grad():  # still in training mode: BatchNorm uses this batch's statistics
        dets = postprocess(*m(x), m.anchors, score_threshold=0.3)
    assert dets[0]["labels"][0] == 1
    assert torch.allclose(dets[0]["boxes"][0], TARGETS[0]["boxes"][0], atol=0.05)
    assert sorted(dets[1]["labels"][:2].tolist()) == [0, 2]


@pytest.mark.parametrize("method", dirnet.methods.names())
def test_every_method_binarizes_the_detector(method):
    fp = dirnet.models.create("ssd_resnet20", num_classes=3, input_size=64, width=8)
    bnn, report = dirnet.binarize(fp, method, keep=fp.binarize_keep, return_report=True)
    kept = set(report.kept())
    heads = {n for n, mod in fp.named_modules() if n.startswith("head.") and type(mod) is nn.Conv2d}
    shortcuts = {n for n, mod in fp.named_modules()
                 if type(mod) is nn.Conv2d and mod.kernel_size == (1, 1) and mod.stride == (2, 2)}
    assert kept == heads | shortcuts | {"backbone.conv1"}
    assert len(heads) == 12 and len(shortcuts) == 4 and len(report.binarized()) == 26
    dirnet.set_progress(bnn, 0.5)
    bnn.train()
    loss, _ = multibox_loss(*bnn(torch.randn(2, 3, 64, 64)), bnn.anchors, TARGETS)
    loss.backward()
    grads = [p.grad for p in bnn.parameters() if p.requires_grad]
    assert torch.isfinite(loss) and all(g is not None and torch.isfinite(g).all() for g in grads)


def test_resnet18_detector_keeps_the_published_layers_full_precision():
    fp = dirnet.models.create("ssd_resnet18", num_classes=2, input_size=64)
    _, report = dirnet.binarize(fp, "dirnet", keep=fp.binarize_keep, return_report=True)
    kept = report.kept()
    assert "backbone.conv1" in kept and "backbone.layer2.0.shortcut.0" in kept
    assert all(n.startswith(("head.", "backbone.conv1")) or n.endswith("shortcut.0") for n in kept)
    assert len(report.binarized()) == 16 + 6  # the backbone's 3x3 convs + 2 per extra block


def test_rbd_alignment_points_work_between_teacher_and_student():
    teacher = dirnet.models.create("ssd_resnet20", num_classes=3, input_size=64, width=8).eval()
    student = dirnet.binarize(teacher, "dirnet", keep=teacher.binarize_keep)
    assert student.stage_names == teacher.stage_names
    assert student.stage_names[:3] == ("backbone.layer1", "backbone.layer2", "backbone.layer3")
    assert "backbone.layer1.0" in block_names(student)
    hs, ht = FeatureHooks(student, student.stage_names), FeatureHooks(teacher, teacher.stage_names)
    x = torch.randn(2, 3, 64, 64)
    student(x)
    with torch.no_grad():
        teacher(x)
    rep = sum(representation_loss(hs.features[n], ht.features[n]) for n in student.stage_names)
    rep.backward()
    assert torch.isfinite(rep) and rep > 0


def test_fx_traceable_and_equal():
    m = dirnet.models.create("ssd_resnet20", num_classes=3, input_size=64, width=8).eval()
    gm = torch.fx.symbolic_trace(m)
    x = torch.randn(1, 3, 64, 64)
    for a, b in zip(m(x), gm(x)):
        assert torch.equal(a, b)


def test_backbone_loads_classifier_weights():
    clf = dirnet.models.create("resnet18", num_classes=1000)
    det = dirnet.models.create("ssd_resnet18", num_classes=2, input_size=64)
    det.load_backbone_state_dict(clf.state_dict())
    assert torch.equal(det.backbone.layer4[1].conv2.weight, clf.layer4[1].conv2.weight)
    with pytest.raises(RuntimeError):
        det.load_backbone_state_dict({"conv1.weight": clf.conv1.weight})
