"""The columnar ground-truth cache: same columns back, misses on change, never fails a run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from posebench.formats import coco, gtcache
from posebench.samples import sample_path
from tests.conftest import DATA


def _same(a: coco.CocoGroundTruth, b: coco.CocoGroundTruth) -> None:
    for c in (
        "image_id",
        "keypoints",
        "visibility",
        "bbox",
        "area",
        "iscrowd",
        "num_keypoints",
        "ann_id",
        "category_id",
    ):
        assert np.array_equal(getattr(a.poses, c), getattr(b.poses, c), equal_nan=True), c
    assert np.array_equal(a.poses.extra["has_num_keypoints"], b.poses.extra["has_num_keypoints"])
    for c in ("id", "width", "height", "crowd_index"):
        assert np.array_equal(getattr(a.images, c), getattr(b.images, c), equal_nan=True), c
    assert list(a.images.file) == list(b.images.file)
    assert a.categories == b.categories
    assert a.num_joints == b.num_joints


@pytest.mark.parametrize(
    "src", [sample_path("coco-val2017-4"), DATA / "crowdpose/test_crowdpose.json"]
)
def test_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, src: Path) -> None:
    monkeypatch.setenv("POSEBENCH_CACHE", str(tmp_path / "cache"))
    gt_file = tmp_path / src.name
    shutil.copy(src, gt_file)
    parsed = coco.read_gt(gt_file)
    first = coco.read_gt(gt_file, cache=True)  # miss: parses and stores
    assert len(list((tmp_path / "cache").glob("gt-*.npz"))) == 1
    second = coco.read_gt(gt_file, cache=True)  # hit
    assert gtcache.load(gt_file) is not None
    _same(parsed, first)
    _same(parsed, second)


def test_changed_file_misses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSEBENCH_CACHE", str(tmp_path / "cache"))
    gt_file = tmp_path / "gt.json"
    shutil.copy(sample_path("coco-val2017-4"), gt_file)
    coco.read_gt(gt_file, cache=True)
    text = gt_file.read_text().replace('"iscrowd": 0', '"iscrowd": 1', 1)
    gt_file.write_text(text)
    os.utime(gt_file, ns=(1, 2))  # a different mtime, even on coarse clocks
    assert gtcache.load(gt_file) is None
    assert (
        coco.read_gt(gt_file, cache=True).poses.iscrowd.sum()
        == coco.read_gt(gt_file).poses.iscrowd.sum()
    )


def test_damaged_entry_and_off_switch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSEBENCH_CACHE", str(tmp_path / "cache"))
    gt_file = tmp_path / "gt.json"
    shutil.copy(sample_path("coco-val2017-4"), gt_file)
    coco.read_gt(gt_file, cache=True)
    (entry,) = (tmp_path / "cache").glob("gt-*.npz")
    entry.write_bytes(b"not an npz")
    assert gtcache.load(gt_file) is None
    _same(coco.read_gt(gt_file), coco.read_gt(gt_file, cache=True))
    monkeypatch.setenv("POSEBENCH_CACHE", "off")
    assert gtcache.cache_dir() is None
    _same(coco.read_gt(gt_file), coco.read_gt(gt_file, cache=True))


def test_same_size_and_mtime_replacement_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cp -p`` / ``rsync -a`` of another GT of the same size over the file: same size, same
    mtime, other contents. The key is the contents' hash, so the cache must miss."""
    monkeypatch.setenv("POSEBENCH_CACHE", str(tmp_path / "cache"))
    gt_file = tmp_path / "gt.json"
    shutil.copy(sample_path("coco-val2017-4"), gt_file)
    first = coco.read_gt(gt_file, cache=True)
    st = gt_file.stat()
    text = gt_file.read_text()
    # the same number of bytes: one crowd flag flipped
    other = text.replace('"iscrowd": 0', '"iscrowd": 1', 1)
    assert other != text
    assert len(other.encode()) == st.st_size
    replacement = tmp_path / "other.json"
    replacement.write_text(other)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    shutil.copy2(replacement, gt_file)  # cp -p
    st2 = gt_file.stat()
    assert (st2.st_size, st2.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert gtcache.load(gt_file) is None
    again = coco.read_gt(gt_file, cache=True)
    assert again.poses.iscrowd.sum() == first.poses.iscrowd.sum() + 1
    _same(again, coco.read_gt(gt_file))
    # and the same contents under another path and mtime hit
    moved = tmp_path / "moved.json"
    moved.write_text(other)
    assert gtcache.load(moved) is not None
    assert gtcache.content_key(moved.read_bytes()) == gtcache.content_key(other.encode())


def test_key_changes_with_contents_only() -> None:
    a = b'{"images": []}'
    assert gtcache.content_key(a) == gtcache.content_key(bytes(a))
    assert gtcache.content_key(a) != gtcache.content_key(b'{"images":[] }')
