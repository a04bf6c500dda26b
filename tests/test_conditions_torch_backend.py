"""The torch backend of the conditions: low light against the CPU path, and ``apply_batch``.

Tolerances (``lowlight_batch`` vs ``lowlight``, same image and keys): the Poisson electrons are the
same numbers (same uniforms, same float64 table); the read noise's float32 Box-Muller and the sRGB
``pow`` may differ in the last bit across devices, so at most 1 grey level anywhere and identical
on >= 99.9% of values (on this CPU: identical everywhere). ``darken``: identical.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the batched path needs torch (pip install torch)")

from posebench.conditions import lowlight as L  # noqa: E402
from posebench.conditions.apply import apply_batch, apply_condition  # noqa: E402
from posebench.conditions.lowlight_torch import lowlight_batch  # noqa: E402
from posebench.errors import InputError  # noqa: E402

DATA = Path(__file__).parent / "data" / "corruptions"


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    """Three real crops, two sizes (the batch is split by size)."""
    img = cv2.imread(str(DATA / "000000197388.jpg"))[..., ::-1]
    other = cv2.imread(str(DATA / "000000000785.jpg"))[..., ::-1]
    return [
        np.ascontiguousarray(img[100:196, 200:328]),
        np.ascontiguousarray(cv2.resize(other, (71, 53), interpolation=cv2.INTER_AREA)),
        np.ascontiguousarray(img[200:296, 300:428]),
    ]


def _close(a: np.ndarray, b: np.ndarray, what: object) -> None:
    d = np.abs(a.astype(np.int64) - b.astype(np.int64))
    assert d.max() <= 1, what
    assert np.mean(d > 0) <= 1e-3, what


def test_lowlight_torch_matches_the_cpu_path(images: list[np.ndarray]) -> None:
    x = torch.from_numpy(np.stack([images[0], images[2]])).permute(0, 3, 1, 2)
    ids = [11, 12]
    for method in L.METHODS:
        for s in range(1, 6):
            keys = torch.tensor([L.lowlight_seed(i, s, 5) for i in ids])
            got = lowlight_batch(x, s, keys, method=method).permute(0, 2, 3, 1).numpy()
            for j, i in enumerate(ids):
                want = L.lowlight(images[2 * j], s, 5, i, method=method)
                if method == "darken":
                    np.testing.assert_array_equal(got[j], want)
                else:
                    _close(got[j], want, (method, s, i))
    # not a constant: the keys matter
    a = lowlight_batch(x, 2, torch.tensor([1, 2]))
    b = lowlight_batch(x, 2, torch.tensor([1, 3]))
    assert torch.equal(a[0], b[0])
    assert not torch.equal(a[1], b[1])


def test_lowlight_batch_rejects_bad_input() -> None:
    x = torch.zeros((2, 3, 8, 8), dtype=torch.uint8)
    with pytest.raises(InputError, match="seeds"):
        lowlight_batch(x, 1, torch.tensor([1]))
    with pytest.raises(InputError, match="uint8"):
        lowlight_batch(x.float(), 1, torch.tensor([1, 2]))
    with pytest.raises(InputError, match="method"):
        lowlight_batch(x, 1, torch.tensor([1, 2]), method="gamma")
    with pytest.raises(InputError, match="severity"):
        lowlight_batch(x, 6, torch.tensor([1, 2]))


@pytest.mark.parametrize(
    ("kind", "name", "params", "exact"),
    [
        ("corruption", "contrast", {}, True),
        ("corruption", "gaussian_noise", {}, False),
        ("corruption", "jpeg_compression", {}, True),
        ("corruption", "impulse_noise", {"protocol": "advmix"}, True),
        ("lowlight", "lowlight", {}, False),
        ("lowlight", "exlpose", {}, False),
        ("lowlight", "darken", {}, True),
    ],
)
def test_apply_batch_torch_equals_apply_condition_per_image(
    images: list[np.ndarray], kind: str, name: str, params: dict[str, str], exact: bool
) -> None:
    ids = [5, 9, 7]
    torch_out = apply_batch(images, ids, kind, name, 3, 2, params=params, backend="torch")
    numpy_out = apply_batch(images, ids, kind, name, 3, 2, params=params, backend="numpy")
    assert [a.image.shape for a in torch_out] == [im.shape for im in images]  # input order
    for i, im, t, n in zip(ids, images, torch_out, numpy_out, strict=True):
        one = apply_condition(im, i, kind, name, 3, 2, params=params)
        np.testing.assert_array_equal(n.image, one.image)
        if exact:
            np.testing.assert_array_equal(t.image, one.image)
        else:
            d = np.abs(t.image.astype(int) - one.image.astype(int))
            assert d.max() <= 1, (name, i)
    # the same image alone gives the same bytes as in the batch
    alone = apply_batch(images[1:2], ids[1:2], kind, name, 3, 2, params=params, backend="torch")
    np.testing.assert_array_equal(alone[0].image, torch_out[1].image)


def test_apply_batch_errors(images: list[np.ndarray]) -> None:
    with pytest.raises(InputError, match="unknown condition backend 'jax'"):
        apply_batch(images, [1, 2, 3], "corruption", "fog", 1, 0, backend="jax")
    with pytest.raises(InputError, match="3 images for 2 ids"):
        apply_batch(images, [1, 2], "corruption", "fog", 1, 0, backend="torch")
    with pytest.raises(InputError) as e:
        apply_batch([images[0], images[0][..., 0]], [1, 2], "corruption", "fog", 1, 0,
                    backend="torch")  # fmt: skip
    assert e.value.record == "2"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_lowlight_cuda_matches_cpu(images: list[np.ndarray]) -> None:
    x = torch.from_numpy(np.stack([images[0], images[2]])).permute(0, 3, 1, 2)
    keys = torch.tensor([3, 4])
    for method in L.METHODS:
        for s in (1, 3, 5):
            a = lowlight_batch(x, s, keys, method=method).numpy()
            b = lowlight_batch(x.cuda(), s, keys.cuda(), method=method).cpu().numpy()
            _close(a, b, (method, s))


@pytest.mark.parametrize("backend", ["per-image", "numpy", "torch"])
def test_unknown_corruption_protocol_is_refused_by_name(
    images: list[np.ndarray], backend: str
) -> None:
    """A suite's ``params.protocol`` outside PROTOCOLS is an input error naming the field, on
    the per-image path and both batch backends."""
    params = {"protocol": "imagenet-c"}

    def call() -> object:
        if backend == "per-image":
            return apply_condition(images[0], 1, "corruption", "fog", 2, 0, params=params)
        return apply_batch(
            images, [1, 2, 3], "corruption", "fog", 2, 0, params=params, backend=backend
        )

    with pytest.raises(InputError, match="unknown protocol 'imagenet-c'") as e:
        call()
    assert e.value.field == "conditions.params.protocol"
