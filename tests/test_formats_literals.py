"""true/false/null in a COCO results file are errors naming the record and field, never numbers
(numpy reads a boolean as 0/1: the fast reader used to score ``"score": true`` as 1.0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from posebench.cli.main import main
from posebench.errors import InputError
from posebench.formats import coco
from posebench.samples import sample_path


@pytest.mark.parametrize(
    ("mutate", "record", "field"),
    [
        (lambda r: r[3].__setitem__("score", True), "results[3]", "score"),
        (lambda r: r[4]["keypoints"].__setitem__(5, False), "results[4]", "keypoints"),
        (lambda r: r[0].__setitem__("image_id", True), "results[0]", "image_id"),
        (lambda r: r[2]["keypoints"].__setitem__(0, None), "results[2]", "keypoints"),
    ],
)
def test_literals_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mutate: Any, record: str, field: str
) -> None:
    res = json.loads(sample_path("coco-val2017-4-results").read_text())
    mutate(res)
    path = tmp_path / "res.json"
    path.write_text(json.dumps(res))
    gt = coco.read_gt(sample_path("coco-val2017-4"))
    with pytest.raises(InputError) as e:
        coco.read_results(path, gt)
    assert (e.value.file, e.value.record, e.value.field) == (str(path), record, field)
    assert main(["score", "--gt", "sample:coco-val2017-4", "--pred", str(path)]) == 2
    assert f"{record}: field '{field}'" in capsys.readouterr().err
