"""Examiner render path throughput: bodies per second at 256x256.

Times the full path the examiner runs per step: random poses -> smplx forward (mannequin) ->
orbit camera -> rasterise + shade (render.render, back faces culled) -> COCO-17 projection with
z-buffer visibility. Prints a Markdown table on stdout (one row per batch size, with the split
between the body model and the renderer) and progress on stderr.

    python bench/bench_render.py                         # CPU, batches 1, 16, 64
    python bench/bench_render.py --device cuda --batch-sizes 1,16,64,256,1024
    python bench/bench_render.py --size 512 --repeat 10
    python bench/bench_render.py --renderers torch,moderngl   # the OpenGL backend beside torch

Never run in CI: its numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import platform
import sys
import time
from collections.abc import Callable

import torch

from posebench.examiner.body import BodyModel, BodyOutput
from posebench.examiner.camera import Camera, fov_for_height, orbit_camera
from posebench.examiner.joints import project_keypoints
from posebench.examiner.render import RenderOutput, render


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best(fn: Callable[[], object], repeat: int, device: torch.device) -> float:
    fn()  # warm-up
    _sync(device)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--batch-sizes", default="1,16,64")
    parser.add_argument("--size", type=int, default=256, help="image height and width")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the fastest is kept")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument(
        "--renderers", default="torch,moderngl",
        help="comma-separated: torch (render.render), moderngl (render_gl, skipped if unavailable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    body = BodyModel("mannequin", device=device)
    gen = torch.Generator(device="cpu").manual_seed(0)
    size = (args.size, args.size)

    print(f"device: {device} ({_device_name(device)}), torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, image {args.size}x{args.size}, "
          f"best of {args.repeat}\n")  # fmt: skip
    renderers = {"torch": render}
    if "moderngl" in args.renderers.split(","):
        from posebench.examiner.render_gl import gl_available, render_gl

        ok, why = gl_available()
        if ok:
            renderers["moderngl"] = render_gl  # type: ignore[assignment]
            print(f"moderngl: {why}\n")
        else:
            print(f"moderngl skipped: {why}\n", file=sys.stderr)
    if "torch" not in args.renderers.split(","):
        del renderers["torch"]
    print("| renderer | batch | bodies/s (full path) | ms/batch | body model ms | render ms "
          "| joints ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for (rname, rfn), b in itertools.product(
        renderers.items(), (int(x) for x in args.batch_sizes.split(","))
    ):
        pose = (torch.randn(b, 69, generator=gen) * 0.3).to(device)
        orient = torch.zeros(b, 3, device=device)
        az = (torch.rand(b, generator=gen) * 360).to(device)
        el = (torch.rand(b, generator=gen) * 30 - 10).to(device)
        fov = fov_for_height(2.0, 3.0)

        def forward(pose: torch.Tensor = pose, orient: torch.Tensor = orient) -> BodyOutput:
            with torch.no_grad():
                return body.forward(orient, pose)

        def camera(
            out: BodyOutput, az: torch.Tensor = az, el: torch.Tensor = el, fov: float = fov
        ) -> Camera:
            return orbit_camera(az, el, 3.0, out.joints[:, 0], fov_deg=fov, image_size=size)

        def draw(
            out: BodyOutput, cam: Camera, rfn: Callable[..., RenderOutput] = rfn
        ) -> RenderOutput:
            with torch.no_grad():
                verts = cam.to_camera(out.vertices)
                return rfn(verts, body.faces, cam.intrinsics, size, cull_backfaces=True)

        def joints(out: BodyOutput, cam: Camera, r: RenderOutput) -> object:
            return project_keypoints(out.joints, cam, r.depth, occluder=r.occluder)

        def full(
            forward: Callable[[], BodyOutput] = forward, camera: Callable[..., Camera] = camera
        ) -> object:
            out = forward()
            cam = camera(out)
            return joints(out, cam, draw(out, cam))

        out = forward()
        cam = camera(out)
        r = draw(out, cam)
        t_body = _best(forward, args.repeat, device)
        t_draw = _best(functools.partial(draw, out, cam), args.repeat, device)
        t_joints = _best(functools.partial(joints, out, cam, r), args.repeat, device)
        t_full = _best(full, args.repeat, device)
        print(f"| {rname} | {b} | {b / t_full:.1f} | {t_full * 1e3:.1f} | {t_body * 1e3:.1f} | "
              f"{t_draw * 1e3:.1f} | {t_joints * 1e3:.1f} |")  # fmt: skip
        print(f"{rname} batch {b} done", file=sys.stderr)
    return 0


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    raise SystemExit(main())
