"""Suite files: the built-in suites validate; bad files fail naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from posebench.datasets import DATASETS
from posebench.errors import InputError
from posebench.suite import (
    METRIC_MODELS,
    METRICS,
    ConditionSpec,
    SuiteError,
    builtin_suites,
    load_suite,
    parse_yaml,
    validate_suite,
)

BAD = Path(__file__).parent / "data" / "suites"

EXPECTED_BUILTINS = {
    "coco-val2017", "crowdpose-val", "crowdpose-test", "ochuman-val", "ochuman-test",
    "mpii-val", "lsp-test", "h36m-test", "demo",
}  # fmt: skip


def test_every_builtin_suite_validates() -> None:
    found = builtin_suites()
    assert set(found) >= EXPECTED_BUILTINS
    for name, path in found.items():
        suite = load_suite(name)
        assert suite.name == name == path.stem
        assert suite.dataset in DATASETS
        assert suite == load_suite(path)  # by name or by path: the same suite


def test_coco_suite_content() -> None:
    s = load_suite("coco-val2017")
    assert (s.dataset, s.boxes, s.batch_size, s.seed) == ("coco-val2017", "gt", 16, 0)
    assert [m.model_dump()["mode"] for m in s.metrics] == ["coco"]
    assert s.breakdowns == ("crowd", "size", "keypoints")
    assert [c.kind for c in s.conditions] == ["clean"]
    assert load_suite("demo").dataset == "coco-sample"


@pytest.mark.parametrize(
    ("file", "field", "message"),
    [
        ("unknown_key.yaml", "metrics[0].threshhold", "did you mean 'threshold'"),
        ("wrong_type.yaml", "batch_size", "valid integer"),
        ("duplicate_key.yaml", "metrics[0].mode", "duplicate key"),
        ("severity_7.yaml", "conditions[1].severities[2]", "less than or equal to 5"),
        ("metric_misfit.yaml", "metrics[1]", "mpjpe needs a 3D dataset"),
        ("python_tag.yaml", "metrics[0]", "unsupported YAML tag"),
        ("threshold_zero.yaml", "metrics[1].threshold", "greater than 0"),
    ],
)
def test_bad_suite_names_file_and_key(file: str, field: str, message: str) -> None:
    path = BAD / file
    with pytest.raises(SuiteError) as e:
        load_suite(path)
    assert len(e.value.problems) == 1, str(e.value)
    problem = e.value.problems[0]
    assert (problem.file, problem.field) == (str(path), field)
    assert message in problem.detail
    assert str(e.value).startswith(f"{path}: field '{field}': ")


def test_not_yaml_names_the_file_and_line() -> None:
    with pytest.raises(InputError, match=r"not_yaml.yaml: not valid YAML: .*\(line 3") as e:
        load_suite(BAD / "not_yaml.yaml")
    assert not isinstance(e.value, SuiteError)


def test_python_tags_are_never_constructed(tmp_path: Path) -> None:
    marker = tmp_path / "touched"
    text = f"name: x\nseed: !!python/object/apply:pathlib.Path.touch [{str(marker)!r}]\n"
    with pytest.raises(SuiteError, match="unsupported YAML tag"):
        parse_yaml(text, "x.yaml")
    assert not marker.exists()


def test_aliases_and_non_mapping_documents_are_refused() -> None:
    with pytest.raises(SuiteError, match="aliases"):
        parse_yaml("a: &x [1, 2]\nb: *x\n", "x.yaml")
    with pytest.raises(InputError, match="expected a mapping"):
        validate_suite(parse_yaml("- 1\n- 2\n", "x.yaml"), "x.yaml")
    with pytest.raises(InputError, match="empty file"):
        parse_yaml("", "x.yaml")


def _suite(**over: object) -> dict[str, object]:
    data: dict[str, object] = {"name": "t", "dataset": "coco-val2017", "metrics": [{"name": "oks"}]}
    data.update(over)
    return data


def _problems(data: dict[str, object]) -> list[tuple[str | None, str]]:
    with pytest.raises(SuiteError) as e:
        validate_suite(data, "t.yaml")
    return [(p.field, p.detail) for p in e.value.problems]


def test_every_problem_is_reported_once() -> None:
    probs = _problems(
        _suite(
            batchsize=3,
            metrics=[{"name": "pkh"}, {"name": "pck", "normalizer": "head"}],
            breakdowns=["sizes"],
        )
    )
    fields = [f for f, _ in probs]
    assert fields == ["metrics[0].name", "metrics[1].normalizer", "breakdowns[0]", "batchsize"]
    assert "did you mean 'pckh'" in probs[0][1]
    assert "did you mean 'batch_size'" in probs[3][1]


def test_metrics_must_fit_the_dataset() -> None:
    assert _problems(_suite(dataset="mpii-val"))[0][0] == "metrics[0]"
    ((field, msg),) = _problems(_suite(dataset="coco-val2017", metrics=[{"name": "pckh"}]))
    assert field == "metrics[0]"
    assert "single-person" in msg
    assert "mpii-val" in msg
    ((field, msg),) = _problems(_suite(dataset="lsp-test", metrics=[{"name": "pckh"}]))
    assert "head boxes" in msg
    ((field, msg),) = _problems(_suite(metrics=[{"name": "oks", "sigmas": "crowdpose14"}]))
    assert field == "metrics[0]"
    assert "14 keypoints" in msg
    ((field, msg),) = _problems(_suite(metrics=[{"name": "oks", "sigmas": "mpii16"}]))
    assert field == "metrics[0].sigmas"
    validate_suite(_suite(dataset="crowdpose-val", metrics=[{"name": "oks", "mode": "crowdpose"}]),
                   "t.yaml")  # fmt: skip


def test_dataset_boxes_and_breakdowns_are_checked() -> None:
    ((field, msg),) = _problems(_suite(dataset="coco-val2018"))
    assert field == "dataset"
    assert "did you mean 'coco-val2017'" in msg
    ((field, msg),) = _problems(_suite(dataset="ochuman-val", boxes="detector"))
    assert field == "boxes"
    assert "detector" in msg
    validate_suite(_suite(boxes="detector"), "t.yaml")  # coco has a detections file
    ((field, msg),) = _problems(
        _suite(dataset="lsp-test", metrics=[{"name": "pck"}], breakdowns=["crowd"])
    )
    assert field == "breakdowns[0]"
    assert "oks" in msg
    ((field, _),) = _problems(_suite(metrics=[{"name": "oks"}, {"name": "oks"}]))
    assert field == "metrics[1]"


def test_condition_forms() -> None:
    s = validate_suite(
        _suite(
            conditions=[
                "clean",
                {"corruption": "gaussian_noise", "severities": [1, 3]},
                {
                    "kind": "corruption",
                    "name": "jpeg_compression",
                    "params": {"protocol": "advmix"},
                },
                "occlusion",
                {"lowlight": "darken", "severities": [5]},
            ]
        ),
        "t.yaml",
    )
    got = [(c.kind, c.name, c.severities) for c in s.conditions]
    assert got == [
        ("clean", None, (1, 2, 3, 4, 5)),
        ("corruption", "gaussian_noise", (1, 3)),
        ("corruption", "jpeg_compression", (1, 2, 3, 4, 5)),
        ("occlusion", "occlusion", (1, 2, 3, 4, 5)),
        ("lowlight", "darken", (5,)),
    ]
    assert s.conditions[2].params == {"protocol": "advmix"}
    assert s.conditions[1].model_dump()["kind"] == "corruption"


@pytest.mark.parametrize(
    ("cond", "field", "message"),
    [
        ("corruption", "conditions[0]", "needs a name"),
        ("fog", "conditions[0]", "unknown condition"),
        ({"kind": "blur", "name": "x"}, "conditions[0].kind", "'corruption'"),
        ({"corruption": "x", "severities": [0]}, "conditions[0].severities[0]", ">= 1"),
        ({"corruption": "x", "severities": [2, 2]}, "conditions[0]", "distinct"),
        ({"corruption": "x", "severities": "1"}, "conditions[0].severities", "tuple"),
        ({"corruption": "x", "severity": [1]}, "conditions[0].severity", "'severities'"),
    ],
)
def test_bad_conditions(cond: object, field: str, message: str) -> None:
    probs = _problems(_suite(conditions=[cond]))
    assert probs[0][0] == field, probs
    assert (
        message in probs[0][1] or message.replace(">= ", "greater than or equal to ") in probs[0][1]
    ), probs


def test_unknown_builtin_name_suggests() -> None:
    with pytest.raises(InputError, match="did you mean 'coco-val2017'"):
        load_suite("coco-val217")
    with pytest.raises(InputError, match="no such suite file"):
        load_suite("missing/suite.yaml")


def test_metric_table_covers_every_metric_model() -> None:
    assert set(METRICS) == set(METRIC_MODELS)
    assert METRICS["mpjpe"].higher_is_better is False
    assert all(METRICS[n].higher_is_better for n in ("oks", "pckh", "pck", "pcp", "pdj"))


def test_models_are_frozen() -> None:
    s = load_suite("demo")
    with pytest.raises(ValueError, match="frozen"):
        s.seed = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        ConditionSpec(kind="clean").kind = "occlusion"  # type: ignore[misc]


def test_validate_refuses_the_condition_names_run_refuses(tmp_path: Path) -> None:
    from posebench.cli.main import main

    f = tmp_path / "typo.yaml"
    f.write_text(
        "name: typo\ndataset: coco-sample\nmetrics: [{name: oks}]\n"
        "conditions:\n  - {kind: corruption, name: gausian_noise}\n"
    )
    with pytest.raises(InputError, match="did you mean 'gaussian_noise'"):
        load_suite(f)
    assert main(["validate", str(f)]) == 2
    assert main(["run", "--adapter", "oracle", "--suite", str(f), "--output",
                 str(tmp_path / "r")]) == 2  # fmt: skip
