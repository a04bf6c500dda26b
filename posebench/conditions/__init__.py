"""Stress-test conditions: corruptions (ImageNet-C / COCO-C), occlusion, low light.

``corrupt(image, name, severity, seed)`` (numpy + OpenCV) and
``posebench.conditions.corruptions_torch.corrupt_batch(images, name, severity, seeds)`` (torch,
any device) implement the same definitions, as do ``lowlight.lowlight`` and
``lowlight_torch.lowlight_batch``; occlusion (``occlusion.occlude``) runs on the CPU.
``apply.apply_batch`` runs a batch on either backend (``posebench run --condition-backend``);
``condition_seed`` makes a run deterministic per (image, condition, severity, seed). See
``corruptions.py`` for the definitions and deviations.
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
