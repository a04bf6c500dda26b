"""Stress-test conditions: image corruptions (ImageNet-C / COCO-C), CPU and batched torch paths.

``corrupt(image, name, severity, seed)`` (numpy + OpenCV) and
``posebench.conditions.corruptions_torch.corrupt_batch(images, name, severity, seeds)`` (torch,
any device) implement the same definitions; ``condition_seed`` makes a run deterministic per
(image, condition, severity, seed). See ``corruptions.py`` for the definitions and deviations.
"""

from posebench.conditions.corruptions import (
    BENCHMARK_CORRUPTIONS,
    CORRUPTIONS,
    EXTRA_CORRUPTIONS,
    corrupt,
)
from posebench.conditions.rng import condition_seed

__all__ = [
    "BENCHMARK_CORRUPTIONS",
    "CORRUPTIONS",
    "EXTRA_CORRUPTIONS",
    "condition_seed",
    "corrupt",
]
