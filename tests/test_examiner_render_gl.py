"""The optional OpenGL renderer (moderngl + EGL) draws what the torch rasteriser draws.

The torch path is pinned against a brute-force z-buffer in test_examiner_render.py; here the GL
path is compared with it body by body: coverage, visible face, depth, shading, background,
occluders, batching across framebuffer chunks, and the scene's keypoint visibility. Where
moderngl or an EGL driver is missing the tests skip with the reason (and fail under
``POSEBENCH_REQUIRE_REFERENCES=1``, set by ``.ci/run``, which installs both).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the examiner needs torch")
pytest.importorskip("smplx", reason="the examiner's body model needs smplx")

from posebench.errors import InputError  # noqa: E402
from posebench.examiner import render_gl  # noqa: E402
from posebench.examiner.body import BodyModel  # noqa: E402
from posebench.examiner.camera import fov_for_height, orbit_camera  # noqa: E402
from posebench.examiner.render import RenderOutput, render  # noqa: E402

SIZE = (96, 80)  # (H, W): not square, so that a swapped axis shows


@pytest.fixture(scope="module")
def gl() -> str:
    ok, why = render_gl.gl_available()
    if not ok:
        msg = f"OPENGL RENDERER UNAVAILABLE: {why}"
        if os.environ.get("POSEBENCH_REQUIRE_REFERENCES") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return why


@pytest.fixture(scope="module")
def bodies() -> dict[str, Any]:
    """Six posed mannequins seen from random sides, one close enough to leave the image."""
    body = BodyModel("mannequin")
    g = torch.Generator().manual_seed(3)
    b = 6
    out = body.forward(torch.zeros(b, 3), torch.randn(b, 69, generator=g) * 0.35)
    mid = (out.vertices.amin(1) + out.vertices.amax(1)) / 2
    dist = torch.tensor([3.0, 3.0, 2.5, 3.5, 1.0, 3.0])
    cam = orbit_camera(
        torch.rand(b, generator=g) * 360, torch.rand(b, generator=g) * 40 - 15, dist, mid,
        fov_deg=fov_for_height(2.0, 3.0), image_size=SIZE,
    )  # fmt: skip
    return {
        "faces": body.faces,
        "verts": cam.to_camera(out.vertices),
        "k": cam.intrinsics,
        "colors": torch.rand(b, 3, generator=g) * 0.6 + 0.3,
        "light": torch.nn.functional.normalize(torch.randn(b, 3, generator=g), dim=-1),
        "occluders": torch.tensor([[[10.0, 20.0, 40.0, 60.0]]] * b),
    }


def _both(bodies: dict[str, Any], **kw: Any) -> tuple[RenderOutput, RenderOutput]:
    args = (bodies["verts"], bodies["faces"], bodies["k"], SIZE)
    return render(*args, **kw), render_gl.render_gl(*args, **kw)


def _assert_same_picture(a: RenderOutput, b: RenderOutput) -> None:
    fa, fb = a.face_id >= 0, b.face_id >= 0
    assert fa.sum() > 2000  # there is a body to compare
    # Coverage: only pixel centres on a silhouette edge may differ (tie rules).
    assert (fa ^ fb).float().mean() < 2e-3
    both = fa & fb
    same_face = a.face_id[both] == b.face_id[both]
    assert same_face.float().mean() > 0.99
    # Where both see the same face, depth and colour agree to float rounding.
    torch.testing.assert_close(
        a.depth[both][same_face], b.depth[both][same_face], atol=2e-4, rtol=0
    )
    assert torch.isinf(b.depth[~fb]).all()
    diff = (a.image - b.image).abs().amax(1)  # (B, H, W)
    assert diff[both & (a.face_id == b.face_id)].max() < 2e-3
    assert (diff > 2e-3).float().mean() < 3e-3  # edges only
    assert torch.equal(a.occluder, b.occluder)


def test_gl_matches_the_torch_rasteriser(gl: str, bodies: dict[str, Any]) -> None:
    a, b = _both(bodies, colors=bodies["colors"], light_dir=bodies["light"], cull_backfaces=True)
    _assert_same_picture(a, b)
    assert b.image.shape == (6, 3, *SIZE)
    assert b.face_id.dtype == torch.int64
    # The close camera (body 4) cuts the body at the image border in both.
    assert (b.face_id[4, 0] >= 0).any() or (b.face_id[4, -1] >= 0).any()


def test_gl_without_culling_flat_shading_background_and_occluders(
    gl: str, bodies: dict[str, Any]
) -> None:
    bg = torch.rand(6, 3, *SIZE, generator=torch.Generator().manual_seed(0))
    a, b = _both(
        bodies, cull_backfaces=False, smooth=False, background=bg,
        occluders=bodies["occluders"], occluder_colors=(0.1, 0.9, 0.1),
    )  # fmt: skip
    fa = a.face_id >= 0
    # Flat shading: GL takes the face normal from screen derivatives; allow a little more.
    same = (a.face_id == b.face_id) & fa
    assert ((a.image - b.image).abs().amax(1)[same] < 0.02).float().mean() > 0.99
    assert b.occluder[:, 20:60, 10:40].all()
    assert torch.equal(b.image[:, 1][b.occluder], torch.full_like(b.image[:, 1][b.occluder], 0.9))
    empty = ~(b.face_id >= 0) & ~b.occluder
    torch.testing.assert_close(b.image.permute(0, 2, 3, 1)[empty], bg.permute(0, 2, 3, 1)[empty])
    torch.testing.assert_close(a.depth[same], b.depth[same], atol=2e-4, rtol=0)


def test_chunks_of_the_framebuffer_give_the_same_images(
    gl: str, bodies: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = render_gl._context()
    whole = render_gl.render_gl(bodies["verts"], bodies["faces"], bodies["k"], SIZE)
    monkeypatch.setattr(ctx, "max_side", 4 * SIZE[0])  # 4 bodies per draw: 2 chunks
    chunked = render_gl.render_gl(bodies["verts"], bodies["faces"], bodies["k"], SIZE)
    # A body's place in the framebuffer changes float rounding before GL snaps vertices to its
    # sub-pixel grid: a pixel centre on an edge may flip, nothing else.
    assert torch.equal(whole.face_id >= 0, chunked.face_id >= 0)
    assert (whole.face_id != chunked.face_id).float().mean() < 2e-4
    same = whole.face_id == chunked.face_id
    torch.testing.assert_close(
        whole.image.permute(0, 2, 3, 1)[same],
        chunked.image.permute(0, 2, 3, 1)[same],
        atol=1e-3,
        rtol=0,
    )
    # One body alone renders as it does in the batch.
    one = render_gl.render_gl(bodies["verts"][2:3], bodies["faces"], bodies["k"][2:3], SIZE)
    assert (one.face_id[0] != whole.face_id[2]).float().mean() < 5e-4


def test_scene_with_the_gl_renderer_gives_the_same_ground_truth(gl: str) -> None:
    from posebench.examiner.params import default_space
    from posebench.examiner.scene import Scene

    space = default_space(["pose", "camera"])
    rng = np.random.default_rng(0)
    params = space.decode(rng.uniform(-0.6, 0.6, (8, space.size)))
    t = Scene("mannequin", image_size=(128, 128)).render(params)
    g = Scene("mannequin", image_size=(128, 128), renderer="moderngl").render(params)
    torch.testing.assert_close(t.keypoints, g.keypoints)
    assert (t.visibility == g.visibility).float().mean() > 0.97
    assert (t.boxes - g.boxes).abs().max() <= 1.0
    diff = (t.images.int() - g.images.int()).abs().amax(-1)
    assert (diff > 2).float().mean() < 5e-3


def test_missing_gl_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from posebench.examiner.scene import Scene

    def broken() -> None:
        raise InputError(f"{render_gl.INSTALL_HINT} (No module named 'moderngl')", field="x")

    monkeypatch.setattr(render_gl, "_context", broken)
    monkeypatch.setattr(broken, "cache_clear", lambda: None, raising=False)
    with pytest.raises(InputError, match="pip install moderngl"):
        Scene("mannequin", image_size=(64, 64), renderer="moderngl")
    with pytest.raises(InputError, match="unknown renderer 'vulkan'"):
        Scene("mannequin", image_size=(64, 64), renderer="vulkan")


def test_examine_cli_with_the_gl_renderer(gl: str, tmp_path: Path) -> None:
    from posebench.cli.main import main
    from posebench.results import read_results_json

    out = tmp_path / "exam"
    code = main(["examine", "--adapter", "tests.fake_examiner_adapters:RaisedRightArmBlind",
                 "--budget", "60", "--output", str(out), "--renderer", "moderngl", "--size", "64",
                 "--agents", "2", "--rollouts", "6", "--max-iters", "4", "--space", "camera",
                 "--include", "right_shoulder"])  # fmt: skip
    assert code == 0
    ex = read_results_json(out)["examiner"]
    assert ex["renderer"] == "moderngl"
    assert 0 < ex["queries"] <= 60
