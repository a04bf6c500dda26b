"""Named files of the embedded sample data (``sample:NAME`` on the command line)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from posebench.errors import InputError

#: name -> path inside the ``posebench.data`` package. An explicit table: grep finds every name.
SAMPLES: dict[str, str] = {
    "coco-val2017-4": "coco_val2017_4/person_keypoints.json",
    "coco-val2017-4-results": "coco_val2017_4/results_xtcocoapi_example.json",
    "coco-val2017-sample": "coco_val2017_sample/person_keypoints.json",
}

PREFIX = "sample:"


def sample_path(name: str) -> Path:
    """Filesystem path of an embedded sample file."""
    try:
        rel = SAMPLES[name]
    except KeyError:
        raise InputError(
            f"unknown sample {name!r}; known: {', '.join(SAMPLES)}", file=PREFIX + name
        ) from None
    return Path(str(resources.files("posebench.data").joinpath(rel)))


def resolve(path_or_sample: str) -> str:
    """A path, with ``sample:NAME`` replaced by the embedded file's path."""
    if path_or_sample.startswith(PREFIX):
        return str(sample_path(path_or_sample[len(PREFIX) :]))
    return path_or_sample


def sample_images_dir(name: str) -> Path:
    """The ``images/`` folder beside an embedded sample file (where its JPEGs are shipped).

    InputError when the sample is unknown or ships no images.
    """
    folder = sample_path(name).parent / "images"
    if not folder.is_dir():
        raise InputError(f"sample {name!r} ships no images", file=PREFIX + name)
    return folder
