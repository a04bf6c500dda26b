"""Examiner body: the mannequin file, the SMPL loaders (npz, restricted pickle), smplx forward."""

from __future__ import annotations

import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx (pip install smplx)")

from posebench.errors import InputError  # noqa: E402
from posebench.examiner.body import BodyModel, mannequin_path  # noqa: E402
from posebench.examiner.mannequin import REST_JOINTS, build_mannequin  # noqa: E402
from posebench.examiner.smpl_files import load_smpl_arrays, read_smpl_pickle  # noqa: E402


@pytest.fixture(scope="module")
def body() -> BodyModel:
    return BodyModel("mannequin")


def test_mannequin_file_has_the_smpl_keys_and_shapes() -> None:
    with np.load(mannequin_path(), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    shapes = {
        "v_template": (6890, 3),
        "f": (13776, 3),
        "J_regressor": (24, 6890),
        "weights": (6890, 24),
        "kintree_table": (2, 24),
        "shapedirs": (6890, 3, 10),
        "posedirs": (6890, 3, 207),
    }
    for key, shape in shapes.items():
        assert arrays[key].shape == shape, key
    assert arrays["f"].dtype == np.uint32
    assert arrays["v_template"].dtype == np.float32
    assert set(np.unique(arrays["f"])) == set(range(6890))  # every vertex is used
    np.testing.assert_allclose(arrays["weights"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(arrays["J_regressor"].sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(arrays["J_regressor"] @ arrays["v_template"], REST_JOINTS, atol=1e-5)
    assert mannequin_path().stat().st_size < 2_000_000


def test_shipped_mannequin_matches_the_generator() -> None:
    built = build_mannequin()
    with np.load(mannequin_path(), allow_pickle=False) as z:
        for key, arr in built.items():
            np.testing.assert_array_equal(z[key], arr, err_msg=key)


def test_mannequin_mesh_is_closed_and_outward() -> None:
    arrays = load_smpl_arrays(mannequin_path())
    v, f = arrays["v_template"].astype(np.float64), arrays["f"]
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert counts.min() >= 2  # no boundary edge: closed surfaces
    tri = v[f]
    volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() / 6.0
    assert 0.04 < volume < 0.12  # m^3: a 1.75 m person is ~0.07 m^3; positive = outward


def test_extra_joint_vertices_sit_on_the_right_body_parts() -> None:
    from smplx.vertex_ids import vertex_ids

    ids = vertex_ids["smplh"]
    v = load_smpl_arrays(mannequin_path())["v_template"]
    head = REST_JOINTS[15]
    nose, leye, reye, lear, rear = (v[ids[k]] for k in ("nose", "leye", "reye", "lear", "rear"))
    assert nose[2] > head[2] + 0.05
    assert abs(nose[0]) < 0.01
    assert leye[0] > 0.01
    assert reye[0] < -0.01
    assert leye[1] > nose[1]
    assert reye[1] > nose[1]
    assert lear[0] > 0.06
    assert rear[0] < -0.06
    assert lear[2] < nose[2] - 0.08
    for side, sign in (("L", 1), ("R", -1)):
        toe, heel = v[ids[f"{side}BigToe"]], v[ids[f"{side}Heel"]]
        assert toe[1] < -1.1
        assert heel[1] < -1.1
        assert toe[2] > heel[2] + 0.2
        assert np.sign(toe[0]) == sign
    for tip in ("lthumb", "lindex", "lmiddle", "lring", "lpinky"):
        assert v[ids[tip]][0] > 0.8
        assert v[ids["r" + tip[1:]]][0] < -0.8


def test_forward_at_zero_pose_gives_the_rest_joints(body: BodyModel) -> None:
    out = body.forward(torch.zeros(3, 3), torch.zeros(3, 69))
    assert out.vertices.shape == (3, 6890, 3)
    assert out.joints.shape == (3, 45, 3)
    np.testing.assert_allclose(
        out.joints[:, :24].numpy(), REST_JOINTS[None].repeat(3, 0), atol=1e-5
    )


def test_raised_arm_moves_the_wrist_up(body: BodyModel) -> None:
    pose = torch.zeros(2, 69)
    pose[1, (16 - 1) * 3 + 2] = 1.2  # left shoulder about +z: the arm swings up
    out = body.forward(torch.zeros(2, 3), pose)
    rest, raised = out.joints[0, 20], out.joints[1, 20]
    assert raised[1] > rest[1] + 0.3
    # The right wrist and the feet do not move.
    torch.testing.assert_close(out.joints[1, 21], out.joints[0, 21])
    torch.testing.assert_close(out.joints[1, 7], out.joints[0, 7])


def test_betas_change_the_shape(body: BodyModel) -> None:
    betas = torch.zeros(2, 10)
    betas[1, 0] = 2.0  # height
    out = body.forward(torch.zeros(2, 3), torch.zeros(2, 69), betas)
    height = out.vertices[..., 1].amax(1) - out.vertices[..., 1].amin(1)
    assert height[1] > height[0] + 0.1


def test_bad_pose_shape_is_an_input_error(body: BodyModel) -> None:
    with pytest.raises(InputError, match="body_pose"):
        body.forward(torch.zeros(1, 3), torch.zeros(1, 63))


# --- restricted unpickler -------------------------------------------------------------------


def _fake_chumpy(monkeypatch: pytest.MonkeyPatch) -> type:
    """A stand-in for chumpy.ch.Ch registered only for this test, pickled like chumpy's."""

    class Ch:
        def __init__(self, x: np.ndarray) -> None:
            self.x = x
            self._dirty_vars: set[str] = set()
            self._itr = None
            self._depends_on_deps: dict[str, Any] = {}
            self._make_dense = False
            self._make_sparse = False

    Ch.__module__ = "chumpy.ch"
    Ch.__qualname__ = "Ch"
    mod_ch = types.ModuleType("chumpy.ch")
    mod_ch.Ch = Ch  # type: ignore[attr-defined]
    pkg = types.ModuleType("chumpy")
    pkg.ch = mod_ch  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "chumpy", pkg)
    monkeypatch.setitem(sys.modules, "chumpy.ch", mod_ch)
    return Ch


def test_chumpy_style_smpl_pickle_loads_without_chumpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: BodyModel
) -> None:
    sparse = pytest.importorskip("scipy.sparse", reason="builds an SMPL-like sparse J_regressor")
    arrays = load_smpl_arrays(mannequin_path())
    Ch = _fake_chumpy(monkeypatch)
    data = {
        "v_template": Ch(arrays["v_template"].astype(np.float64)),
        "f": arrays["f"].astype(np.uint32),
        "J_regressor": sparse.csc_matrix(arrays["J_regressor"].astype(np.float64)),
        "weights": arrays["weights"].astype(np.float64),
        "kintree_table": arrays["kintree_table"],
        "shapedirs": Ch(arrays["shapedirs"].astype(np.float64)),
        "posedirs": arrays["posedirs"].astype(np.float64),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(data, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")  # loading must not need it
    monkeypatch.delitem(sys.modules, "chumpy")

    raw = read_smpl_pickle(path)
    assert isinstance(raw["shapedirs"], np.ndarray)
    assert raw["shapedirs"].shape == (6890, 3, 10)
    np.testing.assert_allclose(raw["J_regressor"], arrays["J_regressor"], atol=1e-7)

    from_pkl = BodyModel(path)
    pose = torch.zeros(1, 69)
    pose[0, 50] = 0.7
    betas = torch.linspace(-1, 1, 10)[None]
    a = from_pkl.forward(torch.zeros(1, 3), pose, betas)
    b = body.forward(torch.zeros(1, 3), pose, betas)
    torch.testing.assert_close(a.vertices, b.vertices, atol=1e-5, rtol=0)


class _Hostile:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned > pwned.txt",))


def test_hostile_pickle_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"v_template": _Hostile()}, protocol=2))
    with pytest.raises(InputError, match=r"evil\.pkl.*refused.*system"):
        read_smpl_pickle(path)
    with pytest.raises(InputError, match="refused"):
        BodyModel(path)
    assert not (tmp_path / "pwned.txt").exists()


def test_pickle_of_a_non_allowed_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"f": Path("x")}, protocol=2))
    with pytest.raises(InputError, match="refused to unpickle pathlib"):
        read_smpl_pickle(path)


def test_missing_key_and_bad_shape_name_the_field(tmp_path: Path) -> None:
    arrays = load_smpl_arrays(mannequin_path())
    partial = {k: v for k, v in arrays.items() if k != "weights"}
    np.savez(tmp_path / "a.npz", **partial)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="weights"):
        load_smpl_arrays(tmp_path / "a.npz")
    bad = dict(arrays, J_regressor=arrays["J_regressor"][:20])
    np.savez(tmp_path / "b.npz", **bad)  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"b\.npz.*J_regressor"):
        load_smpl_arrays(tmp_path / "b.npz")
