"""Declarative suites: dataset, boxes, conditions, metrics and breakdowns of a benchmark.

A suite is a small YAML file (``suites/coco-val2017.yaml``)::

    name: coco-val2017
    dataset: coco-val2017
    boxes: gt                 # gt | detector | none
    batch_size: 16
    metrics:
      - {name: oks, mode: coco}
    breakdowns: [crowd, size, keypoints]
    conditions: [clean]
    seed: 0

Files are read with a safe YAML loader that also refuses duplicate keys, tags (``!!python/...``)
and aliases; the content is validated with pydantic (unknown keys are errors, with "did you
mean"), then checked against the dataset (a metric must fit its dataset). Every error is an
:class:`~posebench.errors.InputError` naming the file and the key path, e.g.
``suites/x.yaml: field 'metrics[1].threshold': Input should be greater than 0``.

    >>> load_suite("demo").dataset
    'coco-sample'
"""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from posebench.datasets import DATASETS, DatasetFiles, DatasetSpec
from posebench.errors import InputError
from posebench.metrics import table as metric_table
from posebench.skeletons import SKELETONS

# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is and which datasets it applies to.

    Attributes:
        name: the suite name of the metric.
        description: one line.
        higher_is_better: the direction of its headline number.
        dims: 2 or 3, the ground truth it needs.
        persons: ``multi`` (matching detections to GT, OKS) or ``single`` (one prediction per GT
            person, in GT order).
        needs: a further requirement in words (``head boxes``), or ``""``.
    """

    name: str
    description: str
    higher_is_better: bool
    dims: int
    persons: str
    needs: str = ""


#: family name -> metric info, derived from the metric table (``posebench.metrics.table``), the
#: one place a metric is declared. Used by ``posebench ls metrics`` and by validation.
METRICS: dict[str, MetricInfo] = {
    fam: MetricInfo(fam, *metric_table.family_info(fam)) for fam in metric_table.FAMILIES
}

BREAKDOWNS = ("crowd", "size", "keypoints")
CONDITION_KINDS = ("clean", "corruption", "occlusion", "lowlight")
SEVERITIES = (1, 2, 3, 4, 5)

_NAME = r"^[a-z0-9][a-z0-9._-]*$"
Threshold = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Metric(_Model):
    ci: StrictBool = Field(False, description="bootstrap confidence intervals")


class OksMetric(_Metric):
    """OKS AP/AR. ``sigmas``: a skeleton name (default: the dataset's skeleton)."""

    name: Literal["oks"]
    mode: Literal["coco", "crowdpose"] = "coco"
    sigmas: StrictStr | None = None

    @field_validator("sigmas")
    @classmethod
    def _known_sigmas(cls, v: str | None) -> str | None:
        if v is None:
            return v
        with_sigmas = [n for n, s in SKELETONS.items() if s.sigmas is not None]
        if v not in with_sigmas:
            known = ", ".join(with_sigmas)
            raise ValueError(f"unknown sigmas {v!r}{_hint(v, with_sigmas)} (known: {known})")
        return v


class PckhMetric(_Metric):
    """MPII PCKh@threshold (head-box normalised)."""

    name: Literal["pckh"]
    threshold: Threshold = 0.5


class PckMetric(_Metric):
    """PCK@threshold under a bbox or torso normaliser."""

    name: Literal["pck"]
    normalizer: Literal["bbox", "torso"] = "bbox"
    threshold: Threshold = 0.2


class PcpMetric(_Metric):
    """PCP@threshold (fraction of the limb length)."""

    name: Literal["pcp"]
    threshold: Threshold = 0.5


class PdjMetric(_Metric):
    """PDJ@threshold (fraction of the torso diameter)."""

    name: Literal["pdj"]
    threshold: Threshold = 0.2


class MpjpeMetric(_Metric):
    """MPJPE after aligning: none, the root joint, or a similarity transform (PA-MPJPE)."""

    name: Literal["mpjpe"]
    align: Literal["none", "root", "procrustes"] = "root"


MetricSpec = Annotated[
    OksMetric | PckhMetric | PckMetric | PcpMetric | PdjMetric | MpjpeMetric,
    Field(discriminator="name"),
]

#: metric name -> its model, for error messages.
METRIC_MODELS: dict[str, type[_Model]] = {
    "oks": OksMetric,
    "pckh": PckhMetric,
    "pck": PckMetric,
    "pcp": PcpMetric,
    "pdj": PdjMetric,
    "mpjpe": MpjpeMetric,
}


# ----------------------------------------------------------------------------- conditions


def condition_params(kind: str) -> dict[str, tuple[str, ...]]:
    """The ``params`` keys a condition kind takes, each with its allowed values."""
    if kind == "corruption":
        from posebench.conditions.apply import PROTOCOLS

        return {"protocol": PROTOCOLS}
    return {}


class ConditionSpec(_Model):
    """An image condition: ``clean``, or a transform kind with a name, severities and params.

    Written in a suite as ``clean``, ``occlusion``, ``lowlight`` (a kind with its default
    name), ``{corruption: gaussian_noise, severities: [1, 3, 5]}`` (kind as the key) or
    ``{kind: corruption, name: gaussian_noise, severities: [...], params: {...}}``. The transform
    names are checked by the conditions module; here only the kind and the severities (1-5).
    """

    kind: Literal["clean", "corruption", "occlusion", "lowlight"]
    name: Annotated[str, Field(min_length=1, strict=True)] | None = None
    severities: tuple[Annotated[StrictInt, Field(ge=1, le=5)], ...] = SEVERITIES
    params: dict[StrictStr, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data == "corruption":
                raise ValueError("a corruption needs a name: {corruption: NAME}")
            if data not in CONDITION_KINDS:
                raise ValueError(
                    f"unknown condition {data!r}{_hint(data, CONDITION_KINDS)} "
                    f"(expected one of {', '.join(CONDITION_KINDS)} or a mapping)"
                )
            data = {"kind": data}
        if isinstance(data, Mapping) and "kind" not in data:
            kinds = [k for k in CONDITION_KINDS[1:] if k in data]
            if len(kinds) == 1:
                out = {k: v for k, v in data.items() if k != kinds[0]}
                data = {"kind": kinds[0], "name": data[kinds[0]], **out}
        if isinstance(data, Mapping) and data.get("kind") in ("occlusion", "lowlight"):
            data = {"name": data["kind"], **data}  # the kind's default transform
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ConditionSpec:
        if self.kind == "clean":
            if self.name not in (None, "clean") or self.params:
                raise ValueError("clean takes no name or params")
            return self
        if len(set(self.severities)) != len(self.severities) or not self.severities:
            raise ValueError(f"severities must be distinct values 1-5, got {list(self.severities)}")
        if self.name is None:
            raise ValueError(f"a {self.kind} condition needs a name")
        allowed = condition_params(self.kind)
        for key, value in self.params.items():
            if key not in allowed:
                takes = ", ".join(allowed) or "no params"
                raise ValueError(
                    f"unknown params key {key!r}{_hint(key, list(allowed))} "
                    f"(a {self.kind} condition takes: {takes})"
                )
            if value not in allowed[key]:
                raise ValueError(
                    f"params.{key}: unknown value {value!r}"
                    f"{_hint(str(value), list(allowed[key]))} "
                    f"(expected one of {', '.join(allowed[key])})"
                )
        return self

    @property
    def key(self) -> str:
        """``clean`` or the transform name."""
        return "clean" if self.kind == "clean" else str(self.name)


# ----------------------------------------------------------------------------- suite


class Suite(_Model):
    """A validated suite (see the module docstring for the file format)."""

    name: Annotated[str, Field(pattern=_NAME, strict=True)]
    description: StrictStr = ""
    #: a built-in dataset's name, or the user's own files (``{format: coco, gt: ..., images: ...}``)
    dataset: StrictStr | DatasetFiles
    boxes: Literal["gt", "detector", "none"] = "gt"
    batch_size: Annotated[StrictInt, Field(ge=1)] = 16
    metrics: tuple[MetricSpec, ...] = Field(min_length=1)
    breakdowns: tuple[Literal["crowd", "size", "keypoints"], ...] = ()
    conditions: tuple[ConditionSpec, ...] = (ConditionSpec(kind="clean"),)
    seed: Annotated[StrictInt, Field(ge=0)] = 0

    @property
    def dataset_label(self) -> str:
        """The dataset as one line: its name, or ``file.json (coco files)``."""
        if isinstance(self.dataset, DatasetFiles):
            return f"{Path(self.dataset.gt).name} ({self.dataset.format} files)"
        return self.dataset

    @property
    def dataset_spec(self) -> DatasetSpec:
        if isinstance(self.dataset, DatasetFiles):
            return files_spec(self.dataset)
        return DATASETS[self.dataset]


def files_suite(files: DatasetFiles) -> Suite:
    """The suite ``run --gt FILE`` uses without ``--suite``: the format's usual metrics on the
    file's images, GT person boxes, the clean condition (validated like a suite file)."""
    metrics: list[dict[str, Any]] = {
        "coco": [{"name": "oks", "mode": "coco", "ci": True}],
        "crowdpose": [{"name": "oks", "mode": "crowdpose", "ci": True}],
        "mpii": [{"name": "pckh", "threshold": 0.5, "ci": True}]
        if files.headboxes
        else [{"name": "pck", "normalizer": "bbox", "threshold": 0.2, "ci": True}],
        "lsp": [
            {"name": "pck", "normalizer": "torso", "threshold": 0.2, "ci": True},
            {"name": "pcp", "threshold": 0.5},
        ],
        "h36m": [{"name": "mpjpe", "ci": True}],
    }[files.format]
    data = {
        "name": f"{files.format}-files",
        "description": f"{Path(files.gt).name}: {files.format} ground truth given by path",
        "dataset": files.model_dump(mode="json"),
        "boxes": "gt",
        "metrics": metrics,
    }
    return validate_suite(data, f"--gt {files.gt}")


def files_spec(files: DatasetFiles) -> DatasetSpec:
    """What is known of a dataset given by path before its file is read (skeleton: the format's,
    ``""`` for a COCO file, whose category decides)."""
    fmt = files.format
    skeleton, metric, persons, dims = {
        "coco": ("", "oks", "multi", 2),
        "crowdpose": ("crowdpose14", "oks", "multi", 2),
        "mpii": ("mpii16", "pckh" if files.headboxes else "pck", "single", 2),
        "lsp": ("lsp14", "pck", "single", 2),
        "h36m": ("h36m17", "mpjpe", "single", 3),
    }[fmt]
    return DatasetSpec(
        name=Path(files.gt).name,
        format="coco" if fmt == "crowdpose" else fmt,
        annotations=files.gt,
        images=files.images or "",
        skeleton=skeleton,
        metric=metric,
        description=f"{files.gt} ({fmt})",
        layout="(given by path)",
        headboxes=files.headboxes,
        persons=persons,  # type: ignore[arg-type]
        dims=dims,  # type: ignore[arg-type]
    )


class SuiteError(InputError):
    """Every problem of one suite file; ``str()`` is one ``file: field 'key': msg`` line each."""

    def __init__(self, problems: Sequence[InputError]) -> None:
        first = problems[0]
        super().__init__(first.detail, file=first.file, record=first.record, field=first.field)
        self.problems = tuple(problems)

    #: problems shown; the rest are counted (a generated file can hold thousands)
    SHOWN = 50

    def __str__(self) -> str:
        lines = [ValueError.__str__(p) for p in self.problems[: self.SHOWN]]
        if len(self.problems) > self.SHOWN:
            lines.append(f"... and {len(self.problems) - self.SHOWN} more problems")
        return "\n".join(lines)


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


# ----------------------------------------------------------------------------- safe YAML

_SAFE_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")
}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _path(parts: Sequence[str | int]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _check_nodes(node: yaml.Node, file: str) -> list[InputError]:
    """Duplicate keys, tags other than plain str/int/float/bool/null/map/seq, and aliases."""
    problems: list[InputError] = []
    seen: set[int] = set()

    def err(parts: list[str | int], n: yaml.Node, msg: str, also: str = "") -> None:
        line = f" (line {n.start_mark.line + 1}{also})"
        problems.append(InputError(msg + line, file=file, field=_path(parts) or "(top level)"))

    def walk(n: yaml.Node, parts: list[str | int]) -> None:
        if id(n) in seen:
            err(parts, n, "YAML aliases (*name) are not supported")
            return
        seen.add(id(n))
        if n.tag not in _SAFE_TAGS:
            err(parts, n, f"unsupported YAML tag {n.tag!r}; suites hold plain values only")
            return
        if isinstance(n, yaml.MappingNode):
            keys: dict[str, int] = {}
            for k, v in n.value:
                if not isinstance(k, yaml.ScalarNode) or k.tag not in _SAFE_TAGS:
                    err(parts, k, "mapping keys must be plain strings")
                    continue
                if k.value in keys:
                    err([*parts, k.value], k, "duplicate key", f"; first on line {keys[k.value]}")
                    continue
                keys[k.value] = k.start_mark.line + 1
                walk(v, [*parts, k.value])
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, [*parts, i])

    walk(node, [])
    return problems


def parse_yaml(text: str, file: str) -> Any:
    """The content of a suite file, safely: InputError for bad YAML, tags, aliases, duplicates."""
    try:
        loader = _StrictLoader(text)
    except yaml.YAMLError as e:  # the reader checks the characters up front (NUL, ESC, ...)
        raise InputError(f"not valid YAML: {_one_line(e)}", file=file) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(
                "empty file; expected a mapping with name, dataset, metrics", file=file
            )
        problems = _check_nodes(node, file)
        if problems:
            raise SuiteError(problems)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise InputError(f"not valid YAML: {e.problem or e.context}{where}", file=file) from None
    except yaml.YAMLError as e:
        raise InputError(f"not valid YAML: {_one_line(e)}", file=file) from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply", file=file) from None
    finally:
        loader.dispose()


def _one_line(e: yaml.YAMLError) -> str:
    """PyYAML's message without its multi-line context (which quotes ``<unicode string>``)."""
    return " ".join(str(e).replace("<unicode string>", "the file").split())


# ----------------------------------------------------------------------------- validation


def _model_at(parts: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose fields hold the key at ``parts`` (a pydantic error location)."""
    model: type[BaseModel] = Suite
    i = 0
    while i < len(parts):
        p = parts[i]
        if model is Suite and p == "metrics" and i + 2 < len(parts):
            tag = parts[i + 2]
            if not isinstance(tag, str) or tag not in METRIC_MODELS:
                return None
            model, i = METRIC_MODELS[tag], i + 3
        elif model is Suite and p == "conditions" and i + 1 < len(parts):
            model, i = ConditionSpec, i + 2
        else:
            return None
    return model


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    """A pydantic location without discriminator tags: ``metrics[1].threshold``."""
    out: list[str | int] = []
    for j, p in enumerate(loc):
        if (
            j >= 2
            and loc[j - 2] == "metrics"
            and isinstance(loc[j - 1], int)
            and p in METRIC_MODELS
        ):
            continue
        out.append(p)
    return out


def _pydantic_problems(e: ValidationError, data: Any, file: str) -> list[InputError]:
    problems = []
    errors = e.errors(include_url=False)
    for err in errors:
        loc = list(err["loc"])
        if err["type"] == "too_short" and any(len(o["loc"]) > len(loc) for o in errors):
            continue  # pydantic also reports the items that failed; those say why
        msg = str(err["msg"]).removeprefix("Value error, ")
        kind = err["type"]
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            allowed = list(model.model_fields) if model is not None else []
            msg = f"unknown key{_hint(str(loc[-1]), allowed)}"
            if allowed:
                msg += f" (allowed: {', '.join(allowed)})"
        elif kind == "union_tag_invalid":
            tag = str(err.get("ctx", {}).get("tag", ""))
            msg = f"unknown metric {tag!r}{_hint(tag, list(METRICS))} (known: {', '.join(METRICS)})"
            loc = [*loc, "name"]
        elif kind == "union_tag_not_found":
            msg = f"missing metric name (one of {', '.join(METRICS)})"
            given = err.get("input")
            if isinstance(given, dict):
                allowed = sorted({f for m in METRIC_MODELS.values() for f in m.model_fields})
                unknown = [str(k) for k in given if k not in allowed]
                msg += "".join(f"; unknown key {k!r}{_hint(k, allowed)}" for k in unknown)
            loc = [*loc, "name"]
        problems.append(InputError(msg, file=file, field=_path(_clean_loc(loc)) or "(top level)"))
    return problems


def metric_problem(metric: BaseModel, spec: DatasetSpec) -> str | None:
    """Why a metric does not fit a dataset, or None when it does."""
    name = str(getattr(metric, "name", ""))
    info = METRICS[name]
    fits = ", ".join(d for d, s in DATASETS.items() if metric_problem_basic(info, s) is None)
    problem = metric_problem_basic(info, spec)
    if problem is not None:
        return f"{problem} (datasets it fits: {fits or 'none'})"
    if isinstance(metric, OksMetric) and spec.skeleton in SKELETONS:
        skel = SKELETONS[spec.skeleton]
        sig_name = metric.sigmas or spec.skeleton
        sig = SKELETONS[sig_name].sigmas
        if sig is None:
            return (
                f"oks needs OKS sigmas for skeleton {skel.name!r} of dataset {spec.name!r}, "
                "which defines none"
            )
        if len(sig) != skel.num_keypoints:
            return (
                f"sigmas {sig_name!r} has {len(sig)} keypoints, dataset {spec.name!r} "
                f"has {skel.num_keypoints} ({skel.name})"
            )
    return None


def metric_problem_basic(info: MetricInfo, spec: DatasetSpec) -> str | None:
    """Dimension, person-count and head-box requirements of a metric on a dataset."""
    if info.dims != spec.dims:
        return f"{info.name} needs a {info.dims}D dataset; {spec.name!r} is {spec.dims}D"
    if info.persons != spec.persons:
        what = {
            "multi": "multi-person (predictions matched to GT by OKS)",
            "single": "single-person (one prediction per GT person)",
        }
        return (
            f"{info.name} scores {what[info.persons]} datasets; {spec.name!r} is "
            f"{what[spec.persons].split(' (')[0]}"
        )
    if "head boxes" in info.needs and spec.headboxes is None:
        return f"{info.name} needs head boxes, which {spec.name!r} does not have"
    return None


def _cross_problems(suite: Suite, file: str) -> list[InputError]:
    """Checks of the suite against its dataset: every problem names its key."""

    def bad(field: str, msg: str) -> InputError:
        return InputError(msg, file=file, field=field)

    if isinstance(suite.dataset, DatasetFiles):
        spec = files_spec(suite.dataset)
        here = Path(file).parent
        for key in ("gt", "images", "headboxes"):
            value = getattr(suite.dataset, key)
            if value is None:
                continue
            p = Path(value).expanduser()
            p = p if p.is_absolute() else here / p
            exists = p.is_dir() if key == "images" else p.is_file()
            if not exists:
                what = "folder" if key == "images" else "file"
                return [bad(f"dataset.{key}", f"{what} not found: {p}")]
    elif suite.dataset not in DATASETS:
        hint = _hint(suite.dataset, list(DATASETS))
        return [
            bad(
                "dataset", f"unknown dataset {suite.dataset!r}{hint} (known: {', '.join(DATASETS)})"
            )
        ]
    else:
        spec = DATASETS[suite.dataset]
    problems = []
    for i, m in enumerate(suite.metrics):
        why = metric_problem(m, spec)
        if why is not None:
            problems.append(bad(f"metrics[{i}]", why))
        if m in suite.metrics[:i]:
            problems.append(bad(f"metrics[{i}]", f"same as metrics[{suite.metrics.index(m)}]"))
    if suite.boxes == "detector" and spec.detections is None:
        other = "gt" if spec.persons == "single" else "gt or none"
        problems.append(
            bad("boxes", f"dataset {spec.name!r} has no person-detector results; use {other}")
        )
    if suite.boxes == "none" and spec.persons == "single":
        problems.append(
            bad("boxes", f"single-person dataset {spec.name!r} is scored per GT box; use gt")
        )
    for i, b in enumerate(suite.breakdowns):
        if not any(m.name == "oks" for m in suite.metrics):
            problems.append(bad(f"breakdowns[{i}]", f"breakdown {b!r} needs an oks metric"))
        elif b in suite.breakdowns[:i]:
            problems.append(bad(f"breakdowns[{i}]", f"{b!r} is listed twice"))
    from posebench.conditions.apply import check_condition

    for i, c in enumerate(suite.conditions):  # the names `run` accepts, so validate = run
        if c.kind != "clean":
            try:
                check_condition(c.kind, str(c.name), 1)
            except InputError as e:
                problems.append(bad(f"conditions[{i}].name", e.detail))
    keys: dict[tuple[str, str | None], int] = {}
    for i, c in enumerate(suite.conditions):
        k = (c.kind, c.name)
        if k in keys:
            problems.append(bad(f"conditions[{i}]", f"same condition as conditions[{keys[k]}]"))
        keys.setdefault(k, i)
    return problems


def validate_suite(data: Any, file: str) -> Suite:
    """A Suite from parsed YAML content; SuiteError listing every problem."""
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise InputError(
            f"expected a mapping (name, dataset, metrics, ...), got {kind}",
            file=file,
            field="(top level)",
        )
    try:
        suite = Suite.model_validate(data)
    except ValidationError as e:
        raise SuiteError(_pydantic_problems(e, data, file)) from None
    problems = _cross_problems(suite, file)
    if problems:
        raise SuiteError(problems)
    return suite


# ----------------------------------------------------------------------------- finding suites


def builtin_suites() -> dict[str, Path]:
    """Built-in suite name -> file (``suites/*.yaml``, installed as ``posebench.suites``).

    From a source checkout that is not installed, the ``suites/`` folder beside the package.
    """
    try:
        folder = Path(str(importlib.resources.files("posebench.suites")))
    except ModuleNotFoundError:
        folder = Path(__file__).resolve().parent.parent / "suites"
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _looks_like_path(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text


def load_suite(name_or_path: str | Path | Suite) -> Suite:
    """A suite from a ``.yaml`` file or a built-in name (``coco-val2017``).

    Raises:
        InputError: unknown name ("did you mean"), unreadable file; SuiteError (an InputError)
            for invalid content, one line per problem.
    """
    if isinstance(name_or_path, Suite):  # built in code (``run --gt`` without --suite)
        return name_or_path
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or _looks_like_path(text) or Path(text).is_file():
        path = Path(text)
        if not path.is_file():
            raise InputError("no such suite file", file=text)
    else:
        known = builtin_suites()
        if text not in known:
            raise InputError(
                f"unknown suite {text!r}{_hint(text, list(known))} "
                f"(built-in: {', '.join(known) or 'none'}; or give a path to a .yaml file)",
                field="suite",
            )
        path = known[text]
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", file=text) from None
    suite = validate_suite(parse_yaml(content, str(path)), str(path))
    if isinstance(suite.dataset, DatasetFiles):  # paths in a suite file: relative to it
        suite = suite.model_copy(update={"dataset": suite.dataset.resolved(path.parent)})
    return suite


__all__ = [
    "BREAKDOWNS",
    "CONDITION_KINDS",
    "METRICS",
    "ConditionSpec",
    "MetricInfo",
    "MetricSpec",
    "Suite",
    "SuiteError",
    "builtin_suites",
    "load_suite",
    "metric_problem",
    "parse_yaml",
    "validate_suite",
]
