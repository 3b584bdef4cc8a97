"""VOC-format reader: coordinates, classes, difficult flags, and one-line errors."""
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dirnet.detection import VOCDataset, discover_classes
from dirnet.detection.toy import TOY_CLASSES, make_toy_voc, voc_xml

BCCD = Path("/work/shared/data/bccd/BCCD")


def write_voc(root: Path, images: dict, split: str = "train", size=(40, 30)) -> Path:
    """images: id -> list of (name, (xmin, ymin, xmax, ymax), difficult), or an XML string."""
    for sub in ("JPEGImages", "Annotations", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for image_id, objects in images.items():
        Image.new("RGB", size, (10, 20, 30)).save(root / "JPEGImages" / f"{image_id}.jpg")
        xml = objects if isinstance(objects, str) else voc_xml(f"{image_id}.jpg", *size, objects)
        (root / "Annotations" / f"{image_id}.xml").write_text(xml)
    (root / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(images) + "\n")
    return root


def test_boxes_are_zero_based_continuous_and_flags_kept(tmp_path):
    write_voc(tmp_path, {"a": [("dog", (1, 1, 40, 30), False), ("cat", (5, 6, 10, 20), True)],
                         "b": [("cat", (2, 3, 4, 5), False)]})
    ds = VOCDataset(tmp_path, "train")
    assert ds.classes == ("cat", "dog") and ds.num_classes == 2 and len(ds) == 2
    a = ds.annotations[0]
    assert a.boxes.dtype == np.float32 and a.boxes.shape == (2, 4)
    np.testing.assert_array_equal(a.boxes, [[0, 0, 40, 30], [4, 5, 10, 20]])  # border box kept
    np.testing.assert_array_equal(a.labels, [1, 0])
    np.testing.assert_array_equal(a.difficult, [False, True])
    assert (a.width, a.height) == (40, 30)
    image, ann = ds[1]
    assert image.dtype == np.uint8 and image.shape == (30, 40, 3) and ann.image_id == "b"


def test_given_classes_fix_order_and_unknown_class_is_an_error(tmp_path):
    write_voc(tmp_path, {"a": [("dog", (1, 1, 5, 5), False)]})
    assert VOCDataset(tmp_path, classes=["zebra", "dog"]).annotations[0].labels.tolist() == [1]
    with pytest.raises(ValueError, match="class 'dog' is not one of"):
        VOCDataset(tmp_path, classes=["cat"])


def test_degenerate_box_skipped_with_a_warning(tmp_path):
    write_voc(tmp_path, {"pt": [("a", (7, 8, 7, 8), False), ("a", (1, 1, 3, 3), False)]})
    with pytest.warns(UserWarning, match=r"pt.xml: skipping degenerate box 0 \(a: xmin=7"):
        ds = VOCDataset(tmp_path)
    assert ds.annotations[0].boxes.tolist() == [[0, 0, 3, 3]]


@pytest.mark.parametrize("objects, match", [
    ([("a", (1, 1, 41, 5), False)], "outside the 40x30 image"),
    ([("a", (-1, 1, 4, 5), False)], "outside"),
    ("<annotation><object>", "malformed XML"),
    ("<annotation><size><width>40</width><height>30</height></size><object><name>a</name>"
     "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>x</xmax><ymax>4</ymax></bndbox></object>"
     "</annotation>", "<xmax> is not a number"),
    ("<annotation><object><name>a</name></object></annotation>", "missing <bndbox>"),
    ("<notvoc/>", "expected <annotation>"),
])
def test_bad_annotations_are_one_line_value_errors(tmp_path, objects, match):
    write_voc(tmp_path, {"x": objects})
    with pytest.raises(ValueError, match=match) as e:
        VOCDataset(tmp_path, classes=["a"])
    assert "\n" not in str(e.value) and "x.xml" in str(e.value)


def test_missing_files_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a VOC-format folder"):
        VOCDataset(tmp_path)
    write_voc(tmp_path, {"a": [("a", (1, 1, 3, 3), False)]})
    with pytest.raises(FileNotFoundError, match="split file not found"):
        VOCDataset(tmp_path, "test")
    (tmp_path / "ImageSets/Main/val.txt").write_text("a\nghost\n")
    with pytest.raises(FileNotFoundError, match="ghost.xml"):
        VOCDataset(tmp_path, "val")
    (tmp_path / "JPEGImages/a.jpg").unlink()
    with pytest.raises(FileNotFoundError, match="image for 'a' not found"):
        VOCDataset(tmp_path)


def test_any_image_size_png_grey_and_size_from_header(tmp_path):
    write_voc(tmp_path, {"a": "<annotation><filename>a.png</filename><object><name>a</name>"
                              "<bndbox><xmin>0</xmin><ymin>1</ymin><xmax>17</xmax><ymax>5</ymax>"
                              "</bndbox></object></annotation>"})
    (tmp_path / "JPEGImages/a.jpg").unlink()
    Image.new("L", (17, 9), 3).save(tmp_path / "JPEGImages/a.png")
    ds = VOCDataset(tmp_path)
    a = ds.annotations[0]
    assert (a.width, a.height) == (17, 9) and a.boxes.tolist() == [[0, 0, 17, 5]]  # xmin 0 -> 0
    assert ds.load_image(0).shape == (9, 17, 3)


def test_image_size_disagreeing_with_annotation_is_an_error(tmp_path):
    write_voc(tmp_path, {"a": [("a", (1, 1, 3, 3), False)]})
    Image.new("RGB", (50, 30)).save(tmp_path / "JPEGImages/a.jpg")
    with pytest.raises(ValueError, match="image is 50x30, its annotation says 40x30"):
        VOCDataset(tmp_path).load_image(0)


def test_toy_data_set_round_trips(tmp_path):
    make_toy_voc(tmp_path, 8, size=(64, 48))
    assert discover_classes(tmp_path) == tuple(sorted(TOY_CLASSES))
    sizes = [len(VOCDataset(tmp_path, s)) for s in ("train", "val", "test")]
    assert sizes == [4, 2, 2]
    ds = VOCDataset(tmp_path, "train")
    for ann in ds.annotations:
        assert len(ann.boxes) >= 1 and (ann.boxes[:, 2:] - ann.boxes[:, :2] >= 8).all()
        assert (ann.boxes[:, 2] <= 64).all() and (ann.boxes[:, 3] <= 48).all()


@pytest.mark.skipif(not BCCD.exists(), reason="BCCD not on this machine")
def test_bccd():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        train = VOCDataset(BCCD, "train")
        test = VOCDataset(BCCD, "test", classes=train.classes)
        sets = [VOCDataset(BCCD, s, classes=train.classes) for s in ("train", "val", "test")]
    assert train.classes == ("Platelets", "RBC", "WBC")
    assert [len(s) for s in sets] == [205, 87, 72] and len(test) == 72
    skipped = {str(x.message).split(":")[0] for x in w if "degenerate" in str(x.message)}
    assert skipped <= {"BloodImage_00338.xml", "BloodImage_00343.xml"}
    assert train.load_image(0).shape == (480, 640, 3)
