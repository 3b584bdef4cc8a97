"""dirnet.data: readers on tiny generated files, restricted unpickling, loader contract."""
from __future__ import annotations

import gzip
import io
import os
import pickle
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import dirnet.data as D
from dirnet.data.safe_pickle import UnsafePickleError, safe_loads
from dirnet.data.seeding import generator

# ----------------------------------------------------------------- helpers


def _cifar_rows(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).tolist()


def _py2_batch_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A protocol-2 pickle as Python 2 + numpy wrote the official CIFAR batches
    (str as SHORT_BINSTRING/BINSTRING, numpy.core.multiarray._reconstruct)."""
    def s(b: bytes) -> bytes:  # py2 str
        return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<I", len(b)) + b)

    n = data.shape[0]
    arr = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + s(b"b")
           + b"\x87R(K\x01K" + bytes([n]) + b"M\x00\x0c\x86"
           + b"cnumpy\ndtype\n" + s(b"u1") + b"K\x00K\x01\x87R"
           + b"(K\x03" + s(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
           + b"\x89" + s(data.tobytes()) + b"tb")
    labs = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return (b"\x80\x02}(" + s(b"batch_label") + s(b"training batch") + s(b"data") + arr
            + s(b"labels") + labs + b"u.")


def write_cifar(folder, n: int = 4, protocol: int = 4, py2: bool = False, seed: int = 0) -> dict:
    """Tiny official-format CIFAR-10 batches; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data, labels = _cifar_rows(n, rng)
        written[name] = (data, labels)
        if py2:
            raw = _py2_batch_pickle(data, labels)
        else:
            raw = pickle.dumps({b"batch_label": name.encode(), b"labels": labels,
                                b"data": data, b"filenames": [b"x.png"] * n}, protocol=protocol)
        (folder / name).write_bytes(raw)
    meta = {b"label_names": [c.encode() for c in D.CIFAR10_CLASSES],
            b"num_cases_per_batch": n, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2 if py2 else protocol))
    return written


def write_idx(path, arr: np.ndarray, gz: bool = False) -> None:
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    raw = head + arr.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(raw)
    else:
        path.write_bytes(raw)


def write_fmnist(folder, n_train: int = 20, n_test: int = 10, gz: bool = False) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, gz)


def make_folder(root, classes=("cat", "ant", "bee"), per_class: int = 3) -> None:
    rng = np.random.default_rng(2)
    for split in ("train", "val"):
        for ci, c in enumerate(classes):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(per_class):
                w, h = int(rng.integers(20, 60)), int(rng.integers(20, 60))
                img = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
                img.save(d / f"{i}.{'jpg' if (i + ci) % 2 else 'png'}")


def batches(loader):
    return [(x.clone(), y.clone()) for x, y in loader]


# ----------------------------------------------------------------- CIFAR-10


@pytest.mark.parametrize("protocol,py2", [(4, False), (5, False), (2, False), (2, True)])
def test_cifar_reader_formats(tmp_path, protocol, py2):
    written = write_cifar(tmp_path / "cifar-10-batches-py", protocol=protocol, py2=py2)
    train, test = D.read_cifar10(tmp_path)
    assert train.images.shape == (20, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and test.images.shape == (4, 3, 32, 32)
    data, labels = written["data_batch_2"]
    assert torch.equal(train.images[4:8], torch.from_numpy(data.reshape(4, 3, 32, 32)))
    assert train.labels[4:8].tolist() == labels
    assert train.class_names == D.CIFAR10_CLASSES


def test_cifar_root_may_be_the_batches_folder(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    bundle = D.build("cifar10", tmp_path / "cifar-10-batches-py")
    assert (bundle.num_classes, bundle.in_channels, bundle.image_size) == (10, 3, 32)
    assert bundle.class_names[0] == "airplane" and bundle.val is None
    assert bundle.mean == D.CIFAR10_MEAN and bundle.train_augment == "crop_flip"


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        D.read_cifar10(tmp_path / "nope")
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        D.read_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(b"not a pickle at all")
    with pytest.raises(ValueError, match="data_batch_1 ... data_batch_5"):
        D.read_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 10), np.uint8),
                                                        b"labels": [0, 1]}))
    with pytest.raises(ValueError, match="3072"):
        D.read_cifar10(tmp_path)
    (folder / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8),
                                                        b"labels": [0, 12]}))
    with pytest.raises(ValueError, match="labels"):
        D.read_cifar10(tmp_path)


class _Evil:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.target}",))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _Evil(str(marker)), b"labels": []})
    with pytest.raises(UnsafePickleError, match="system"):
        safe_loads(evil)
    assert not marker.exists()
    # also through the reader, as a ValueError naming the file
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "test_batch").write_bytes(evil)
    with pytest.raises(ValueError, match="test_batch"):
        D.read_cifar10(tmp_path)
    assert not marker.exists()
    for payload in (pickle.dumps(np.array([1, "a"], dtype=object)),  # object arrays
                    pickle.dumps(np.zeros(2, dtype=[("a", "u1")])),  # structured dtypes
                    pickle.dumps(io.BytesIO(b"x"))):                  # any other class
        with pytest.raises(pickle.UnpicklingError):
            safe_loads(payload)
    assert safe_loads(pickle.dumps({"a": [1, b"x", "y"]})) == {"a": [1, b"x", "y"]}


# ----------------------------------------------------------------- Fashion-MNIST


@pytest.mark.parametrize("gz,sub", [(False, ""), (True, ""), (True, "raw")])
def test_fmnist_idx(tmp_path, gz, sub):
    write_fmnist(tmp_path / sub if sub else tmp_path, gz=gz)
    b = D.build("fashion_mnist", tmp_path)
    assert b.train.images.shape == (20, 1, 28, 28) and b.test.images.shape == (10, 1, 28, 28)
    assert b.train.labels.tolist() == [i % 10 for i in range(20)]
    assert (b.in_channels, b.image_size, b.num_classes) == (1, 28, 10)
    assert b.class_names[0] == "T-shirt/top" and b.class_names[9] == "Ankle boot"


def test_fmnist_missing_and_malformed(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        D.read_fashion_mnist(tmp_path)
    write_fmnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">III", 10, 28, 28) + b"\x00" * 100)
    with pytest.raises(ValueError, match="promises"):
        D.read_fashion_mnist(tmp_path)
    path.write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match="magic"):
        D.read_fashion_mnist(tmp_path)
    write_idx(path, np.zeros((7, 28, 28), np.uint8))  # 7 images, 10 labels
    with pytest.raises(ValueError, match="labels"):
        D.read_fashion_mnist(tmp_path)


def test_fmnist_npz(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", x_train=rng.integers(0, 255, (6, 28, 28), dtype=np.uint8),
             y_train=np.arange(6), x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.arange(2))
    train, test = D.read_fashion_mnist_npz(tmp_path / "s.npz")
    assert train.images.shape == (6, 1, 28, 28) and len(test) == 2
    np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="y_train"):
        D.read_fashion_mnist_npz(tmp_path / "bad.npz")


def test_embedded_demo_set():
    b = D.build("fashion_mnist_demo")
    assert b.train.images.shape == (10000, 1, 28, 28) and b.train.images.dtype == torch.uint8
    assert b.test.images.shape == (2000, 1, 28, 28)
    assert torch.bincount(b.train.labels).tolist() == [1000] * 10
    assert torch.bincount(b.test.labels).tolist() == [200] * 10
    assert b.mean == D.FASHION_MNIST_MEAN and b.class_names == D.FASHION_MNIST_CLASSES
    lic = D.fashion_mnist.demo_asset().parent / "LICENSE-fashion-mnist.txt"
    assert "Copyright (c) 2017 Zalando SE" in lic.read_text()


# ----------------------------------------------------------------- held-out split


def test_val_split_disjoint_fixed_and_stratified():
    labels = torch.arange(1000) % 10
    tr, va = D.holdout_split(labels, 100, seed=3)
    assert len(va) == 100 and len(tr) == 900
    assert set(tr.tolist()).isdisjoint(va.tolist())
    assert sorted(tr.tolist() + va.tolist()) == list(range(1000))
    assert torch.bincount(labels[va]).tolist() == [10] * 10
    assert torch.equal(va, D.holdout_split(labels, 100, seed=3)[1])
    assert not torch.equal(va, D.holdout_split(labels, 100, seed=4)[1])
    assert len(D.holdout_split(labels, 0.25, seed=0)[1]) == 250
    with pytest.raises(ValueError):
        D.holdout_split(labels, 1000, seed=0)


def test_build_val_removed_from_train():
    b = D.build("fashion_mnist_demo", val_size=500, seed=7)
    assert len(b.train) == 9500 and len(b.val) == 500
    full = D.build("fashion_mnist_demo").train.images.reshape(10000, -1)
    val_idx = b.info["val_indices"]
    assert torch.equal(full[val_idx], b.val.images.reshape(500, -1))
    keep = torch.ones(10000, dtype=torch.bool)
    keep[val_idx] = False
    assert torch.equal(full[keep], b.train.images.reshape(9500, -1))
    assert torch.equal(val_idx, D.build("fashion_mnist_demo", val_size=500, seed=7).info["val_indices"])
    with pytest.raises(ValueError, match="image_size"):
        D.build("fashion_mnist_demo", image_size=32)
    with pytest.raises(ValueError, match="unknown data set"):
        D.build("mnist")


# ----------------------------------------------------------------- augmentation


def test_crop_flip_matches_reference():
    x = torch.randint(0, 256, (16, 3, 8, 10), dtype=torch.uint8)
    out = D.crop_flip(x, generator(5))
    assert out.shape == x.shape and out.dtype == torch.uint8
    g = generator(5)  # replay the documented draw order
    oy = torch.randint(0, 9, (16,), generator=g)
    ox = torch.randint(0, 9, (16,), generator=g)
    mirror = torch.randint(0, 2, (16,), generator=g, dtype=torch.bool)
    padded = F.pad(x, (4, 4, 4, 4))
    for i in range(16):
        ref = padded[i, :, oy[i]: oy[i] + 8, ox[i]: ox[i] + 10]
        assert torch.equal(out[i], ref.flip(2) if mirror[i] else ref)


def test_crop_pads_with_zeros_and_flip_mirrors():
    x = torch.full((64, 1, 6, 6), 255, dtype=torch.uint8)
    out = D.crop_flip(x, generator(0))
    zero_frac = (out == 0).float().mean()
    assert 0 < zero_frac < 0.8 and set(out.unique().tolist()) <= {0, 255}
    img = torch.arange(12, dtype=torch.uint8).reshape(1, 1, 3, 4).repeat(32, 1, 1, 1)
    flipped = D.flip(img, generator(1))
    mirrored = [torch.equal(f, img[0].flip(2)) for f in flipped]
    assert all(m or torch.equal(f, img[0]) for m, f in zip(mirrored, flipped))
    assert 0 < sum(mirrored) < 32


def test_normalize():
    x = torch.tensor([0, 255], dtype=torch.uint8).reshape(1, 1, 1, 2)
    y = D.normalize(x, (0.5,), (0.25,))
    assert y.dtype == torch.float32 and torch.allclose(y, torch.tensor([[[[-2.0, 2.0]]]]))
    with pytest.raises(ValueError, match="one per channel"):
        D.normalize(x, (0.5, 0.5), (0.2, 0.2))


# ----------------------------------------------------------------- BatchLoader


def _toy(n: int = 50) -> D.TensorImageDataset:
    g = torch.Generator().manual_seed(0)
    return D.TensorImageDataset(torch.randint(0, 256, (n, 3, 8, 8), dtype=torch.uint8, generator=g),
                                torch.arange(n) % 10, [str(i) for i in range(10)])


def _loader(ds, **kw):
    args = {"train": True, "augment": "crop_flip", "seed": 11,
            "mean": (0.5,) * 3, "std": (0.25,) * 3}
    args.update(kw)
    return D.BatchLoader(ds, 8, **args)


def test_loader_epoch_determinism_independent_of_history():
    ds = _toy()
    a = _loader(ds)
    for e in range(3):
        a.set_epoch(e)
        seen = batches(a)
    b = _loader(ds)
    b.set_epoch(2)
    fresh = batches(b)
    assert len(seen) == len(fresh) == 7
    for (xa, ya), (xb, yb) in zip(seen, fresh):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert xa.dtype == torch.float32 and ya.dtype == torch.int64 and xa.shape[1:] == (3, 8, 8)
    tail = [(x, y) for x, y in b.iter_from(4)]
    assert all(torch.equal(t[0], f[0]) for t, f in zip(tail, fresh[4:]))
    b.set_epoch(1)
    assert not torch.equal(batches(b)[0][1], fresh[0][1])
    other = _loader(ds, seed=12)
    other.set_epoch(2)
    assert not torch.equal(batches(other)[0][1], fresh[0][1])


def test_loader_eval_order_and_lengths():
    ds = _toy(50)
    ev = _loader(ds, train=False, augment=None)
    out = batches(ev)
    assert len(ev) == 7 and len(out[-1][1]) == 2
    assert torch.equal(torch.cat([y for _, y in out]), ds.labels)
    ref = D.normalize(ds.images[:8], (0.5,) * 3, (0.25,) * 3)
    assert torch.equal(out[0][0], ref)
    assert len(_loader(ds, drop_last=True)) == 6 == len(batches(_loader(ds, drop_last=True)))


def test_loader_sharding_covers_the_set():
    ds = _toy(50)
    for ws in (1, 3, 4):
        shards = [_loader(ds, rank=r, world_size=ws) for r in range(ws)]
        for s in shards:
            s.set_epoch(5)
        idx = [s.indices() for s in shards]
        assert all(len(i) == -(-50 // ws) for i in idx)
        assert len({len(s) for s in shards}) == 1
        allidx = torch.cat(idx)
        assert set(allidx.tolist()) == set(range(50))
        assert len(allidx) - len(set(allidx.tolist())) == len(allidx) - 50  # only padding repeats
        labels = torch.cat([torch.cat([y for _, y in s]) for s in shards])
        assert torch.bincount(labels, minlength=10).sum() == len(allidx)
    with pytest.raises(ValueError, match="rank"):
        _loader(ds, rank=2, world_size=2)


def test_loader_rejects_bad_arguments():
    ds = _toy()
    with pytest.raises(ValueError, match="augment"):
        _loader(ds, augment="rrc_flip")
    with pytest.raises(ValueError, match="one per channel"):
        _loader(ds, mean=(0.5,), std=(0.2,))
    with pytest.raises(ValueError, match="batch_size"):
        D.BatchLoader(ds, 0, train=True, augment=None, seed=0, mean=(0,) * 3, std=(1,) * 3)
    with pytest.raises(TypeError):
        D.BatchLoader([1, 2], 2, train=True, augment=None, seed=0, mean=(0,), std=(1,))


# ----------------------------------------------------------------- image folders


def test_imagefolder_reader_and_loader(tmp_path):
    make_folder(tmp_path)
    b = D.build("imagefolder", tmp_path, image_size=16, val_size=3, seed=0)
    assert b.class_names == ["ant", "bee", "cat"] and b.num_classes == 3
    assert len(b.train) == 6 and len(b.val) == 3 and len(b.test) == 9
    assert b.image_size == 16 and b.train_augment == "rrc_flip"
    tr = D.BatchLoader(b.train, 4, train=True, augment="rrc_flip", seed=0, mean=b.mean, std=b.std)
    tr.set_epoch(1)
    first = batches(tr)
    assert [x.shape for x, _ in first] == [(4, 3, 16, 16), (2, 3, 16, 16)]
    tr2 = D.BatchLoader(b.train, 4, train=True, augment="rrc_flip", seed=0, mean=b.mean, std=b.std)
    tr2.set_epoch(1)
    assert all(torch.equal(p[0], q[0]) for p, q in zip(first, batches(tr2)))
    ev = D.BatchLoader(b.test, 5, train=False, augment=None, seed=0, mean=b.mean, std=b.std)
    assert torch.equal(torch.cat([y for _, y in ev]), b.test.labels)


def test_imagefolder_eval_center_crop_is_exact(tmp_path):
    arr = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    (tmp_path / "train" / "a").mkdir(parents=True)
    Image.fromarray(arr).save(tmp_path / "train" / "a" / "x.png")
    train, _ = D.read_imagefolder(tmp_path, image_size=28)  # shorter side 32 = 28*256/224
    out = train.load_batch(torch.tensor([0]), None, generator(0))
    ref = torch.from_numpy(arr[2:30, 10:38]).permute(2, 0, 1)
    assert torch.equal(out[0], ref)


def test_imagefolder_missing_and_malformed(tmp_path):
    with pytest.raises(FileNotFoundError, match="train/"):
        D.read_imagefolder(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="<class_a>"):
        D.read_imagefolder(tmp_path)
    (tmp_path / "train" / "a").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="holds no images"):
        D.read_imagefolder(tmp_path)
    (tmp_path / "train" / "a" / "x.jpg").write_bytes(b"garbage")
    (tmp_path / "val" / "zzz").mkdir(parents=True)
    with pytest.raises(ValueError, match="zzz"):
        D.read_imagefolder(tmp_path)
    (tmp_path / "val" / "zzz").rmdir()
    (tmp_path / "val").rmdir()
    train, _ = D.read_imagefolder(tmp_path, image_size=8)
    with pytest.raises(ValueError, match="cannot decode"):
        train.load_batch(torch.tensor([0]), None, generator(0))
    with pytest.raises(ValueError, match="imagefolder needs root"):
        D.build("imagefolder")
