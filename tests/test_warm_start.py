"""model.init: a binary student starts from its fp teacher's weights, or the run fails plainly."""
import pytest
import torch

import dirnet
from dirnet import checkpoint as ckpt
from dirnet.config import load_config
from dirnet.train.warm_start import warm_start


def _save_fp(tmp_path, arch="resnet20", num_classes=10):
    cfg = load_config(None, [f"model.arch={arch}", "method=fp"])
    model = dirnet.models.create(arch, num_classes=num_classes)
    for p in model.parameters():  # weights a fresh model would not have
        torch.nn.init.normal_(p)
    path = tmp_path / "fp.pt"
    torch.save({"format": ckpt.FORMAT, "model": model.state_dict(), "config": cfg.to_dict()}, path)
    return path, model


def test_binary_student_takes_every_fp_weight(tmp_path):
    path, fp = _save_fp(tmp_path)
    cfg = load_config(None, ["model.arch=resnet20", "method=dirnet"])
    student = dirnet.binarize(dirnet.models.create("resnet20"), "dirnet")
    fresh = {k: v.clone() for k, v in student.state_dict().items()}
    left = warm_start(student, path, cfg)
    sd = student.state_dict()
    for k, v in fp.state_dict().items():
        assert torch.equal(sd[k], v), k
    assert left and all("_quantizer." in k for k in left)
    for k in left:  # the binarizers' own state keeps its fresh values
        assert torch.equal(sd[k], fresh[k]), k


def test_mismatches_are_errors(tmp_path):
    path, _ = _save_fp(tmp_path, num_classes=100)
    cfg = load_config(None, ["model.arch=resnet20", "method=dirnet"])
    student = dirnet.binarize(dirnet.models.create("resnet20"), "dirnet")
    with pytest.raises(ValueError, match="shapes differ"):
        warm_start(student, path, cfg)
    other = load_config(None, ["model.arch=vgg_small", "method=dirnet"])
    with pytest.raises(ValueError, match="resnet20"):
        warm_start(student, path, other)


def test_init_teacher_needs_a_teacher():
    from dirnet.config import ConfigError

    with pytest.raises(ConfigError, match="distill.teacher"):
        load_config(None, ["model.init=teacher"])


def test_train_starts_from_the_teacher_and_resume_does_not_reload(tmp_path, monkeypatch):
    from dirnet.train import train
    from dirnet.train import warm_start as ws

    base = {"model": {"arch": "resnet20"},
            "data": {"name": "fashion_mnist_demo", "train_subset": 128, "test_subset": 64,
                     "batch_size": 64, "eval_batch_size": 64},
            "schedule": {"epochs": 2}, "log": {"progress": False, "tensorboard": False},
            "out_dir": str(tmp_path)}
    teacher = train(load_config(base=base, overrides=["method=fp", "name=t"]))["run_dir"]
    calls = []
    real = ws.warm_start
    monkeypatch.setattr(ws, "warm_start", lambda m, src, cfg: calls.append(str(src)) or real(m, src, cfg))
    over = ["method=dirnet", "name=s", f"distill.teacher={teacher}", "model.init=teacher"]
    s = load_config(base=base, overrides=over)
    train(s, max_epochs=1)
    assert calls == [teacher]
    train(s, resume=True)  # the checkpoint, not the teacher, is where a resumed run starts
    assert calls == [teacher]
