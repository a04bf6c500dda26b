"""posebench.arrayutil.unique against np.unique (the values it replaces on the scoring path)."""

from __future__ import annotations

import numpy as np
import pytest

from posebench.arrayutil import isin, unique


@pytest.mark.parametrize("seed", range(6))
def test_unique_equals_numpy_unique(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cases = [
        rng.integers(-5, 5, size=rng.integers(0, 50)),
        rng.integers(0, 2**40, size=100),
        rng.integers(0, 3, size=(4, 5)),  # flattened, as np.unique
        np.round(rng.normal(size=60), 1),
        np.where(rng.random(40) < 0.3, np.nan, np.round(rng.normal(size=40))),
        np.array([np.nan, np.nan]),
        np.array([-0.0, 0.0, 0.0]),
        np.zeros(0),
        rng.integers(0, 4, size=30).astype(np.uint8),
    ]
    for a in cases:
        want, got = np.unique(a), unique(a)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("seed", range(4))
def test_isin_equals_numpy_isin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for a, b in [
        (rng.integers(0, 20, size=50), rng.integers(0, 20, size=rng.integers(0, 12))),
        (rng.integers(0, 5, size=(3, 4)), [1, 3]),
        (np.array([1.0, np.nan, 2.5]), np.array([np.nan, 2.5])),
        (np.zeros(0, np.int64), [1, 2]),
        (np.array([2**62, -(2**62)]), np.array([2**62])),
    ]:
        np.testing.assert_array_equal(isin(a, b), np.isin(a, b))
