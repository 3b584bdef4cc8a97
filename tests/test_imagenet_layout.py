"""ImageNet layouts: ``dirnet data arrange-val`` (flat validation folder -> class folders)
and the ``imagelist`` data set (``PATH LABEL`` list files)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import dirnet.data as D
from dirnet.cli import main
from dirnet.data import arrange as A

# image i (1-based) of the flat folder is class n01 (even i) or n02 (odd i)
N = 6
WNID = {i: "n01" if i % 2 == 0 else "n02" for i in range(1, N + 1)}


def name(i: int) -> str:
    return f"ILSVRC2012_val_{i:08d}.JPEG"


def jpeg(path: Path, seed: int, size=(20, 16)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path, quality=90)


def flat(root: Path, folder: str = "val_flat") -> Path:
    d = root / folder
    for i in range(1, N + 1):
        jpeg(d / name(i), i)
    (d / "README.txt").write_text("not an image\n")  # ignored
    return d


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def kaggle_csv(root: Path) -> Path:  # rows out of order, ImageId without extension
    rows = [f"{name(i)[:-5]},{WNID[i]} 1 2 30 40 {WNID[i]} 5 6 7 8" for i in range(N, 0, -1)]
    return write(root / "LOC_val_solution.csv", "ImageId,PredictionString\n" + "\n".join(rows) + "\n")


def name_list(root: Path) -> Path:
    return write(root / "val_labels.txt", "".join(f"{name(i)} {WNID[i]}\n" for i in range(1, N + 1)))


def sorted_synsets(root: Path) -> Path:  # LOC_synset_mapping.txt style, sorted wnids
    return write(root / "LOC_synset_mapping.txt", "n01 tench, Tinca tinca\nn02 goldfish, Carassius\n")


def devkit(root: Path) -> tuple[Path, Path]:
    """Ground truth + its synsets in the devkit's own (unsorted) order: class 1 = n02."""
    syn = write(root / "devkit_synsets.txt", "n02\nn01\n")
    gt = write(root / "ILSVRC2012_validation_ground_truth.txt",
               "".join(f"{1 if WNID[i] == 'n02' else 2}\n" for i in range(1, N + 1)))
    return gt, syn


def tree(out: Path) -> dict[str, list[str]]:
    return {d.name: sorted(p.name for p in d.iterdir()) for d in sorted(out.iterdir())}


EXPECTED = {"n01": [name(i) for i in (2, 4, 6)], "n02": [name(i) for i in (1, 3, 5)]}


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


# ------------------------------------------------------------ the three label formats


def test_kaggle_csv_symlinks_into_sibling_val_readable_as_imagefolder(tmp_path):
    v = flat(tmp_path)
    plan = A.arrange_val(v, kaggle_csv(tmp_path))
    out = tmp_path / "val"
    assert plan.out_dir == out and plan.label_format == "csv"
    assert tree(out) == EXPECTED
    link = out / "n01" / name(2)
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == (v / name(2)).resolve()
    assert "6 images of 2 classes" in plan.summary() and "linked 6" in plan.summary()
    # a train/ beside it, and imagefolder reads the arranged val/ with the right labels
    for c in ("n01", "n02"):
        jpeg(tmp_path / "train" / c / "a.JPEG", 99)
    b = D.build("imagefolder", tmp_path, image_size=8)
    assert b.class_names == ["n01", "n02"] and len(b.test) == N
    got = {Path(p).name: b.class_names[y] for p, y in b.test.samples}
    assert got == {name(i): WNID[i] for i in range(1, N + 1)}
    # run again: every link is already there, nothing changes
    again = A.arrange_val(v, kaggle_csv(tmp_path))
    assert again.already == N and not again.todo and tree(out) == EXPECTED


def test_plain_list_with_names_and_caffe_style_indices(tmp_path):
    v = flat(tmp_path)
    plan = A.arrange_val(v, name_list(tmp_path), out_dir=tmp_path / "a")
    assert plan.label_format == "list" and tree(tmp_path / "a") == EXPECTED
    # 0-based indices into the synsets file; a directory part of the name is ignored
    caffe = write(tmp_path / "val.txt", "".join(
        f"some/dir/{name(i)} {0 if WNID[i] == 'n01' else 1}\n" for i in range(1, N + 1)))
    A.arrange_val(v, caffe, synsets=sorted_synsets(tmp_path), out_dir=tmp_path / "b")
    assert tree(tmp_path / "b") == EXPECTED


def test_devkit_ground_truth_uses_the_given_synsets_order(tmp_path):
    v = flat(tmp_path)
    gt, syn = devkit(tmp_path)
    plan = A.arrange_val(v, gt, synsets=syn, out_dir=tmp_path / "out")
    assert plan.label_format == "ground-truth" and tree(tmp_path / "out") == EXPECTED
    # the sorted mapping with the devkit's indices swaps every class: the documented trap
    A.arrange_val(v, gt, synsets=sorted_synsets(tmp_path), out_dir=tmp_path / "wrong")
    assert tree(tmp_path / "wrong") == {"n01": EXPECTED["n02"], "n02": EXPECTED["n01"]}


# ------------------------------------------------------------ modes, overwriting, re-runs


def test_hardlink_copy_move(tmp_path):
    v = flat(tmp_path)
    labels = name_list(tmp_path)
    A.arrange_val(v, labels, out_dir=tmp_path / "h", mode="hardlink")
    assert tree(tmp_path / "h") == EXPECTED
    assert os.path.samefile(tmp_path / "h" / "n02" / name(1), v / name(1))
    A.arrange_val(v, labels, out_dir=tmp_path / "c", mode="copy")
    c = tmp_path / "c" / "n02" / name(1)
    assert tree(tmp_path / "c") == EXPECTED and not c.is_symlink()
    assert c.read_bytes() == (v / name(1)).read_bytes() and not os.path.samefile(c, v / name(1))
    before = {i: (v / name(i)).read_bytes() for i in range(1, N + 1)}
    A.arrange_val(v, labels, out_dir=tmp_path / "m", mode="move")
    assert tree(tmp_path / "m") == EXPECTED
    assert sorted(p.name for p in v.iterdir()) == ["README.txt"]
    assert (tmp_path / "m" / "n01" / name(4)).read_bytes() == before[4]


def test_move_in_place_when_the_folder_is_named_val_and_resume(tmp_path):
    v = flat(tmp_path, "val")
    labels = kaggle_csv(tmp_path)
    with pytest.raises(ValueError, match="itself named val.*--mode move"):
        A.plan_arrange(v, labels)  # symlink into itself: refused
    # a move stopped after two images; the re-run counts them as done
    for i in (1, 2):
        (v / WNID[i]).mkdir(exist_ok=True)
        os.rename(v / name(i), v / WNID[i] / name(i))
    plan = A.arrange_val(v, labels, mode="move")
    assert plan.out_dir == v and plan.already == 2 and len(plan.todo) == N - 2
    assert {d.name: sorted(p.name for p in d.iterdir()) for d in v.iterdir() if d.is_dir()} \
        == EXPECTED


def test_refuses_to_overwrite_and_writes_nothing(tmp_path):
    v = flat(tmp_path)
    labels = name_list(tmp_path)
    out = tmp_path / "out"
    jpeg(out / "n02" / name(3), 7)
    before = files_under(out)
    for mode in A.MODES:
        with pytest.raises(FileExistsError, match=f"{name(3)} exists; arrange-val never "
                                                  "overwrites"):
            A.plan_arrange(v, labels, out_dir=out, mode=mode)
    with pytest.raises(FileExistsError):
        A.arrange_val(v, labels, out_dir=out)
    assert files_under(out) == before and len(list(v.iterdir())) == N + 1
    # a link to another file is not "already in place" either
    os.remove(out / "n02" / name(3))
    os.symlink(v / name(1), out / "n02" / name(3))
    with pytest.raises(FileExistsError, match=name(3)):
        A.plan_arrange(v, labels, out_dir=out)
    (out / "n02" / name(3)).unlink()
    (out / "n02").rmdir()
    (out / "n02").write_text("a file where a class folder goes")
    with pytest.raises(NotADirectoryError, match="n02 exists and is not a folder"):
        A.plan_arrange(v, labels, out_dir=out)


def test_hardlink_across_file_systems_is_refused(tmp_path, monkeypatch):
    v = flat(tmp_path)
    devices = {v: 1}
    monkeypatch.setattr(A, "_device", lambda p: devices.get(p, 2))
    with pytest.raises(ValueError, match="needs .* on one file system; use --mode symlink or copy"):
        A.plan_arrange(v, name_list(tmp_path), out_dir=tmp_path / "o", mode="hardlink")


def test_unlisted_images_error_or_left_out(tmp_path):
    v = flat(tmp_path)
    labels = write(tmp_path / "l.txt", "".join(f"{name(i)} {WNID[i]}\n" for i in range(1, N)))
    with pytest.raises(ValueError, match=rf"1 images in .* are not in .*l.txt, e\.g\. "
                                         rf"{name(N)}; pass --allow-unlisted"):
        A.plan_arrange(v, labels)
    plan = A.arrange_val(v, labels, allow_unlisted=True)
    assert plan.unlisted == [name(N)] and "left out 1 images" in plan.summary()
    assert (v / name(N)).exists() and not (tmp_path / "val" / "n01" / name(N)).exists()


# ------------------------------------------------------------ every error, nothing written


def _errors(tmp: Path) -> list[tuple[str, dict, type, str]]:
    gt, syn = devkit(tmp)
    name_list(tmp)
    return [
        ("missing VAL_DIR", dict(val_dir=tmp / "nope"), FileNotFoundError,
         "validation folder .*nope does not exist"),
        ("missing labels", dict(labels=tmp / "nope.csv"), FileNotFoundError,
         "label file .*nope.csv does not exist"),
        ("missing synsets", dict(labels=gt, synsets=tmp / "nope.txt"), FileNotFoundError,
         "synsets file .*nope.txt does not exist"),
        ("listed, missing", dict(labels=write(tmp / "a.txt", f"{name(1)} n02\nx.JPEG n01\n"
                                              "y.JPEG n01\n")),
         FileNotFoundError, r"a.txt:2: image 'x.JPEG' is listed but not in .*val_flat "
                            r"\(1 more listed images are missing\)"),
        ("malformed list", dict(labels=write(tmp / "b.txt", f"{name(1)} n02\n{name(2)}\n")),
         ValueError, r"b.txt:2: expected 'FILENAME LABEL' \(two fields\), got"),
        ("malformed csv", dict(labels=write(tmp / "c.csv", "ImageId,PredictionString\n"
                                            f"{name(1)},n02 1 2 3 4\n{name(2)}\n")),
         ValueError, r"c.csv:3: expected 'ImageId,PredictionString'"),
        ("malformed gt", dict(labels=write(tmp / "d.txt", "1\n2\nx\n1\n2\n1\n"), synsets=syn),
         ValueError, r"d.txt:3: expected one class index per line"),
        ("blank line in gt", dict(labels=write(tmp / "e.txt", "1\n2\n\n1\n2\n1\n2\n"),
                                  synsets=syn),
         ValueError, r"e.txt:3: expected one class index per line.*got ''"),
        ("gt index out of range", dict(labels=write(tmp / "f.txt", "1\n2\n3\n1\n2\n1\n"),
                                       synsets=syn),
         ValueError, r"f.txt:3: class index 3 is out of range 1..2 \(.*devkit_synsets.txt "
                     r"lists 2 classes\)"),
        ("gt index 0", dict(labels=write(tmp / "g.txt", "0\n2\n1\n1\n2\n1\n"), synsets=syn),
         ValueError, r"g.txt:1: class index 0 is out of range 1..2"),
        ("list index out of range", dict(labels=write(tmp / "h.txt", f"{name(1)} 2\n"),
                                         synsets=syn),
         ValueError, r"h.txt:1: class index 2 is out of range 0..1"),
        ("gt count mismatch", dict(labels=write(tmp / "i.txt", "1\n2\n1\n2\n1\n"), synsets=syn),
         ValueError, r"i.txt has 5 class indices but the folder holds 6 images"),
        ("gt without synsets", dict(labels=gt), ValueError,
         r"holds one class index per line \(the devkit's ground truth\); pass --synsets"),
        ("list index without synsets", dict(labels=write(tmp / "j.txt", f"{name(1)} 0\n")),
         ValueError, r"j.txt:1: label '0' is a class index; pass --synsets FILE \(0-based"),
        ("class not in synsets", dict(labels=name_list(tmp), synsets=write(tmp / "s1.txt",
                                                                           "n01\nn03\n")),
         ValueError, r"val_labels.txt:1: class 'n02' is not in .*s1.txt"),
        ("mixed label kinds", dict(labels=write(tmp / "k.txt", f"{name(1)} 1\n{name(2)} n01\n"),
                                   synsets=syn),
         ValueError, r"k.txt:2: label 'n01' is a class name but line 1 has a class index"),
        ("listed twice", dict(labels=write(tmp / "m.txt", f"{name(1)} n02\n{name(1)[:-5]} n02\n")),
         ValueError, rf"m.txt:2: {name(1)} is listed again \(first at .*m.txt:1\)"),
        ("empty label file", dict(labels=write(tmp / "n.txt", "\n\n")), ValueError,
         r"label file .*n.txt is empty"),
        ("synsets repeat", dict(labels=gt, synsets=write(tmp / "s2.txt", "n01 a\nn01 b\n")),
         ValueError, r"s2.txt:2: class 'n01' repeats line 1"),
        ("bad folder name", dict(labels=write(tmp / "o.txt", f"{name(1)} ..\n")), ValueError,
         r"o.txt:1: class '..' cannot be a folder name"),
        ("binary label file", dict(labels=tmp / "p.bin"), ValueError, "is not a text file"),
        ("out contains VAL_DIR", dict(labels=name_list(tmp), out_dir=tmp), ValueError,
         "contains the validation folder"),
        ("out is VAL_DIR", dict(labels=name_list(tmp), out_dir=tmp / "val_flat"), ValueError,
         "only --mode move arranges in place"),
        ("bad mode", dict(labels=name_list(tmp), mode="rsync"), ValueError, "mode must be one of"),
    ]


def test_errors_are_one_line_and_write_nothing(tmp_path):
    v = flat(tmp_path)
    (tmp_path / "p.bin").write_bytes(b"\xff\xfe\x00\x81" * 10)
    for case, kw, exc, pattern in _errors(tmp_path):
        before = files_under(tmp_path)
        kw = {"val_dir": v, "labels": tmp_path / "val_labels.txt", **kw}
        with pytest.raises(exc, match=pattern) as info:
            A.arrange_val(kw.pop("val_dir"), kw.pop("labels"), **kw)
        assert "\n" not in str(info.value), case
        assert files_under(tmp_path) == before, case


def test_folder_without_images(tmp_path):
    (tmp_path / "v" / "n01").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"holds no images .*\(it has 1 sub-folders: is "
                                                r"it arranged already\?\)"):
        A.plan_arrange(tmp_path / "v", name_list(tmp_path))
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        A.plan_arrange(name_list(tmp_path), name_list(tmp_path))


# ------------------------------------------------------------ the dirnet command


def test_cli_arrange_val(tmp_path, capsys):
    v = flat(tmp_path)
    gt, syn = devkit(tmp_path)
    base = ["data", "arrange-val", str(v)]
    assert main(base + [str(gt), "--synsets", str(syn), "--dry-run"]) == 0
    assert "would arrange 6 images of 2 classes" in capsys.readouterr().out
    assert not (tmp_path / "val").exists()
    assert main(base + [str(gt), "--synsets", str(syn), "--mode", "copy"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("arranged 6 images of 2 classes -> ") and "copied 6" in out
    assert err == "" and tree(tmp_path / "val") == EXPECTED
    # bad input: exactly one line, exit 2
    for argv, says in ((base + [str(gt)], "pass --synsets FILE"),
                       (base + [str(gt), "--synsets", str(syn)], "never overwrites"),
                       (["data", "arrange-val", str(tmp_path / "nope"), str(gt)],
                        "does not exist")):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert out == "" and len(err.splitlines()) == 1 and err.startswith("dirnet data: error: ")
        assert says in err
    # argparse's own errors: usage + one error line, exit 2
    with pytest.raises(SystemExit) as e:
        main(base)
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].startswith(
        "dirnet data arrange-val: error: the following arguments are required: LABELS")
    assert main(["-h"]) == 0 and "arrange ImageNet's flat validation folder" in \
        capsys.readouterr().out


# ------------------------------------------------------------ imagelist


def folder_and_lists(root: Path, *, indices: bool = False) -> None:
    """ROOT/train/<c>/*.jpg (imagefolder) and train.txt / val.txt naming the same files."""
    lines = {"train": [], "val": []}
    for split, per in (("train", 3), ("val", 2)):
        for c, cls in enumerate(("ant", "bee")):
            for k in range(per):
                p = root / split / cls / f"{k}.jpg"
                jpeg(p, 100 * (split == "val") + 10 * c + k, size=(24 + 4 * k, 20))
                lines[split].append(f"{split}/{cls}/{k}.jpg {c if indices else cls}")
    write(root / "train.txt", "# path label\n" + "\n".join(lines["train"]) + "\n\n")
    write(root / "val.txt", "\n".join(lines["val"]) + "\n")


def test_imagelist_matches_imagefolder_batches(tmp_path):
    folder_and_lists(tmp_path)
    bl = D.build("imagelist", tmp_path, image_size=16)
    bf = D.build("imagefolder", tmp_path, image_size=16)
    assert bl.name == "imagelist" and bl.class_names == ["ant", "bee"] and bl.num_classes == 2
    assert len(bl.train) == 6 and len(bl.test) == 4 and bl.train_augment == "rrc_flip"
    assert bl.train.samples == bf.train.samples and bl.test.samples == bf.test.samples
    for split, aug in (("train", "rrc_flip"), ("test", None)):
        xs = []
        for b in (bl, bf):
            loader = D.BatchLoader(getattr(b, split), 4, train=split == "train", augment=aug,
                                   seed=3, mean=b.mean, std=b.std)
            loader.set_epoch(1)
            xs.append(list(loader))
        shapes = [(4, 3, 16, 16), (2, 3, 16, 16)] if split == "train" else [(4, 3, 16, 16)]
        assert [x.shape for x, _ in xs[0]] == shapes
        for (x1, y1), (x2, y2) in zip(*xs):
            assert torch.equal(x1, x2) and torch.equal(y1, y2)
    # val_size holds out part of train, as for any data set
    assert len(D.build("imagelist", tmp_path, image_size=16, val_size=2).val) == 2


def test_imagelist_integer_labels_and_absolute_paths(tmp_path):
    folder_and_lists(tmp_path, indices=True)
    # class 4 is the largest index: 5 classes "0".."4", 2 and 3 unused
    extra = tmp_path / "elsewhere dir" / "x.jpg"
    jpeg(extra, 5)
    with open(tmp_path / "train.txt", "a") as f:
        f.write(f"{extra} 4\n")
    train, test = D.read_imagelist(tmp_path, image_size=8)
    assert train.class_names == ["0", "1", "2", "3", "4"] and train.num_classes == 5
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1, 4] and train.samples[-1][0] == str(extra)
    assert test.labels.tolist() == [0, 0, 1, 1]
    assert train.load_batch(torch.tensor([6]), None, torch.Generator()).shape == (1, 3, 8, 8)
    (tmp_path / "val.txt").unlink()
    assert D.read_imagelist(tmp_path)[1] is None


def test_imagelist_errors(tmp_path):
    with pytest.raises(ValueError, match="imagelist needs root"):
        D.build("imagelist")
    with pytest.raises(FileNotFoundError, match="image list root .* does not exist"):
        D.build("imagelist", tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=r"train.txt does not exist; expected image lists"):
        D.build("imagelist", tmp_path)
    jpeg(tmp_path / "a.jpg", 0)
    cases = [
        ("a.jpg\n", ValueError, r"train.txt:1: expected 'PATH LABEL', got 'a.jpg'"),
        ("a.jpg 0\na.jpg cat\n", ValueError,
         r"train.txt:2: label 'cat' is a class name but line 1 has a class index; use one kind"),
        ("a.jpg -1\n", ValueError, r"train.txt:1: class index -1 is negative"),
        ("# nothing\n\n", ValueError, r"image list .*train.txt lists no images"),
        ("a.jpg 0\n" + "".join(f"m{k}.jpg 0\n" for k in range(5)), FileNotFoundError,
         r"train.txt: 5 of 6 listed images are missing: .*m0.jpg \(line 2\), .*m1.jpg \(line 3\), "
         r".*m2.jpg \(line 4\) and 2 more"),
    ]
    for text, exc, pattern in cases:
        write(tmp_path / "train.txt", text)
        with pytest.raises(exc, match=pattern):
            D.build("imagelist", tmp_path)
    write(tmp_path / "train.txt", "a.jpg cat\n")
    for text, pattern in (("a.jpg dog\n", r"val.txt:1: class 'dog' is not a class of train.txt "
                                          r"\(1 classes\)"),
                          ("a.jpg 0\n", r"val.txt has class indices but train.txt has class "
                                        r"names")):
        write(tmp_path / "val.txt", text)
        with pytest.raises(ValueError, match=pattern):
            D.build("imagelist", tmp_path)
    write(tmp_path / "train.txt", "a.jpg 1\n")
    write(tmp_path / "val.txt", "a.jpg 2\n")
    with pytest.raises(ValueError, match=r"val.txt:1: class index 2 is not a class of train.txt"):
        D.build("imagelist", tmp_path)
    assert "imagelist" in D.names()
