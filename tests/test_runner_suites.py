"""Built-in suites end to end through the runner on small real-annotation data roots (flat
images): the oracle is perfect on every metric family, jitter is not, and single-person metrics
pair each prediction with its person."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from posebench.datasets import load_dataset
from posebench.results import read_results_json
from posebench.runner import RunOptions, run
from tests.test_datasets import DATA, _coco_root, _copy, _lsp_root, _mpii_root


def _fill_images(root: Path, name: str) -> None:
    """A flat JPEG for every image of the dataset (the oracle does not look at pixels)."""
    ds = load_dataset(name, root, require_images=False)
    for i, w, h in zip(ds.images.id, ds.images.width, ds.images.height, strict=True):
        p = ds.image_path(int(i))
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (int(w) or 64, int(h) or 48), (90, 90, 90)).save(p)


def _run(root: Path, out: Path, suite: str, adapter: str, **args: str) -> dict:
    opts = RunOptions(
        adapter=adapter,
        suite=suite,
        output=out,
        data_root=root,
        n_boot=50,
        adapter_args=dict(args),
        limit=40,
    )
    return read_results_json(run(opts))["conditions"]["clean"]["metrics"]


def test_mpii_pckh_oracle_is_100_and_jitter_is_lower(tmp_path: Path) -> None:
    root = _mpii_root(tmp_path / "data")
    _fill_images(root, "mpii-val")
    m = _run(root, tmp_path / "o", "mpii-val", "oracle", top_down="true")
    assert m["pckh@0.5"]["values"]["PCKh_joint_avg"] == 100.0
    assert m["pckh@0.1"]["values"]["PCKh_joint_avg"] == 100.0
    j = _run(root, tmp_path / "j", "mpii-val", "jitter", top_down="true", noise="0.03")
    assert (
        j["pckh@0.1"]["values"]["PCKh_joint_avg"] < j["pckh@0.5"]["values"]["PCKh_joint_avg"] <= 100
    )


def test_lsp_pck_pcp_oracle_and_bottom_up_pairing(tmp_path: Path) -> None:
    root = _lsp_root(tmp_path / "data")
    _fill_images(root, "lsp-test")
    td = _run(root, tmp_path / "td", "lsp-test", "oracle", top_down="true")
    bu = _run(root, tmp_path / "bu", "lsp-test", "oracle")  # paired by box overlap
    for m in (td, bu):
        for key, block in m.items():
            assert next(iter(block["values"].values())) == 100.0, key


def test_h36m_mpjpe_oracle_is_zero(tmp_path: Path) -> None:
    _copy(
        DATA / "h36m" / "test_h36m_body3d.npz",
        tmp_path / "data",
        "h36m/annotation_body3d/fps50/h36m_test.npz",
    )
    _fill_images(tmp_path / "data", "h36m-test")
    m = _run(tmp_path / "data", tmp_path / "o", "h36m-test", "oracle", top_down="true")
    assert m["mpjpe"]["values"]["MPJPE"] == 0.0
    assert abs(m["mpjpe/procrustes"]["values"]["PA-MPJPE"]) < 1e-6
    j = _run(tmp_path / "data", tmp_path / "j", "h36m-test", "jitter", top_down="true", noise="0.2")
    assert m["mpjpe"]["higher_is_better"] is False
    assert j["mpjpe"]["values"]["MPJPE"] > j["mpjpe/procrustes"]["values"]["PA-MPJPE"] > 0


def test_coco_suite_on_a_real_val2017_image(tmp_path: Path) -> None:
    root = _coco_root(tmp_path / "data")
    _fill_images(root, "coco-val2017")
    m = _run(root, tmp_path / "o", "coco-val2017", "oracle", top_down="true")
    assert m["oks"]["values"]["AP"] == 1.0
    assert np.isfinite(m["oks"]["values"]["AP50"])
