import subprocess
import sys

import pytest

import dirnet
from dirnet.methods import Recipe


def test_six_methods_listed():
    assert dirnet.methods.names() == ["bireal", "bnn", "dirnet", "irnet", "reactnet", "xnor"]


def test_every_recipe_documents_itself():
    for name in dirnet.methods.names():
        doc = dirnet.methods.get(name).__doc__
        assert name in doc and "weights:" in doc and "activations:" in doc


def test_irnet_defaults():
    r = dirnet.methods.get("irnet")
    assert (r.weight_transform, r.input_estimator, r.t_min, r.t_max, r.granularity, r.pad_value) == \
        ("imb", "ede", 1e-3, 10.0, "epoch", 1.0)
    assert r.replace(t_min=0.1).t_min == 0.1


def test_register_user_recipe_and_round_trip():
    r = Recipe("mine", "test", weight_transform="imb", input_estimator="approxsign")
    dirnet.methods.register("mine-test", r, overwrite=True)
    assert "mine-test" in dirnet.methods.names()
    assert Recipe.from_dict(dirnet.methods.get("mine-test").to_dict()) == dirnet.methods.get("mine-test")
    with pytest.raises(ValueError, match="already registered"):
        dirnet.methods.register("mine-test", r)
    with pytest.raises(TypeError):
        dirnet.methods.register("x", {"weight_transform": "imb"})


def test_bad_fields():
    with pytest.raises(ValueError, match="choose one of"):
        Recipe("x", weight_transform="ternary")
    with pytest.raises(ValueError, match="pad_value"):
        Recipe("x", pad_value=2.0)


def test_import_is_light():
    code = ("import sys, dirnet; heavy = [m for m in ('dirnet.deploy', 'dirnet.analysis', "
            "'matplotlib', 'dirnet.train') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
