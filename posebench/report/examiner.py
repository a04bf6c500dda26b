"""Failure searches (``posebench examine`` run folders) in a report: one section per run.

An examiner run is a run folder whose ``results.json`` has an ``examiner`` section and no
conditions (:mod:`posebench.cli.examine`). It has no headline number and is never ranked;
instead the report shows, per run, what PoseExaminer reports:

- the search: model, body, agents, queries used of the budget, seed, failure threshold and
  error metric, the searched dimensions;
- the success rate: agents that found a failure, ``k of n (p%)``;
- the region size: NormGap over the normalised widths (every dimension as a fraction of its
  range), NormGap over the pose dimensions in radians (PoseExaminer's own unit), and the mean
  normalised width, each a mean over the failure regions;
- a gallery, one card per failure mode, worst error first: its image, error, the failure rate
  measured inside its region, and the parameters furthest from their defaults.

Images are named in ``results.json`` relative to the run folder. A name that leaves the run
folder (``..``, an absolute path, a link outside) is never read; a file that is not there is
reported in the card (``image missing: failures/agent-00.png``), not an error.

Everything here is plain data; :mod:`posebench.report.markdown` and :mod:`posebench.report.html`
render it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posebench.errors import InputError
from posebench.report.leaderboard import Run, is_examiner, model_name

#: parameters shown per failure mode.
TOP_PARAMS = 5

#: the error each examiner metric measures, and its unit (for the failure condition).
ERRORS = {"oks": ("1 − OKS", ""), "normalized": ("normalised error", ""), "mpjpe": ("MPJPE", "mm")}


@dataclass(frozen=True)
class Param:
    """One scene parameter of a failure mode.

    Attributes:
        name: the dimension (``right_shoulder.z``, ``camera.azimuth``).
        value: its value in physical units (``unit``: rad, deg, m, sd, image, factor).
        default: the value of the ordinary scene (None when the run does not record it).
        deviation: distance from the default in normalised units (the search space's
            ``[-1, 1]``: 2 is the whole range); ``|point|`` when the default is not recorded.
    """

    name: str
    value: float
    default: float | None
    unit: str
    deviation: float

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Card:
    """One failure mode of the gallery.

    Attributes:
        rank: 1 for the worst error.
        image, region_image: file names as recorded (relative to the run folder), or None.
        image_file, region_file: those files, when they exist inside the run folder.
        image_problem, region_problem: why a recorded image cannot be shown
            (``image missing: failures/agent-00.png``), else None.
        params: the :data:`TOP_PARAMS` parameters furthest from their defaults, furthest first.
    """

    rank: int
    agent: int
    error: float | None
    iterations: int | None
    region_failure_rate: float | None
    region_samples: int | None
    norm_gap: float | None
    norm_gap_rad: float | None
    params: list[Param]
    image: str | None
    image_file: Path | None
    image_problem: str | None
    region_image: str | None
    region_file: Path | None
    region_problem: str | None
    description: str | None = None
    photo_checks: list[dict[str, Any]] = field(default_factory=list)
    evidence: bool | None = None
    finished: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (file names as recorded; no absolute paths)."""
        return {
            "description": self.description,
            "photo_checks": self.photo_checks,
            "evidence": self.evidence,
            "finished": self.finished,
            "rank": self.rank,
            "agent": self.agent,
            "error": self.error,
            "iterations": self.iterations,
            "region_failure_rate": self.region_failure_rate,
            "region_samples": self.region_samples,
            "norm_gap": self.norm_gap,
            "norm_gap_rad": self.norm_gap_rad,
            "params": [p.to_json() for p in self.params],
            "image": self.image,
            "image_problem": self.image_problem,
            "region_image": self.region_image,
            "region_problem": self.region_problem,
        }


@dataclass(frozen=True)
class Search:
    """One failure search as the report shows it.

    ``success_rate`` is a fraction; ``norm_gap``, ``norm_gap_rad``, ``mean_width`` and
    ``volume`` are means over the failure regions (None when no agent found one);
    ``threshold`` is in the unit of ``metric``'s error; ``dimensions`` counts the searched
    dimensions per group (``{"pose": 4, "camera": 3}``).
    """

    label: str
    model: str
    adapter: str
    architecture: str
    run: Path
    body: str
    image_size: str
    device: str
    agents: int
    successes: int
    success_rate: float | None
    queries: int | None
    budget: int | None
    seed: int | None
    threshold: float | None
    metric: str
    dimensions: dict[str, int]
    norm_gap: float | None
    norm_gap_rad: float | None
    mean_width: float | None
    volume: float | None
    cards: list[Card]
    version: str
    created: str
    notes: list[str] = field(default_factory=list)
    method: str = "pg"
    settings: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)
    calibration_failure_rate: float | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: the search, its summary and the gallery as data."""
        out: dict[str, Any] = {
            k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("run", "cards")
        }
        out["run"] = str(self.run)
        out["cards"] = [c.to_json() for c in self.cards]
        return out


# ------------------------------------------------------------------------------------ checking


def _bad(msg: str, file: str, record: str, fld: str) -> InputError:
    return InputError(msg, file=file, record=record, field=fld)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_examiner(results: Mapping[str, Any], file: str) -> None:
    """Check the ``examiner`` section of a results file has what the report reads.

    Raises:
        InputError: naming the file, the record (``examiner``, ``examiner failure mode 2``)
            and the field.
    """
    ex = results.get("examiner")
    if not isinstance(ex, dict):
        raise InputError("expected an object", file=file, field="examiner")
    for key in ("agents", "successes"):
        if not isinstance(ex.get(key), int) or isinstance(ex.get(key), bool):
            raise _bad("expected an integer", file, "examiner", key)
    for key in ("success_rate", "threshold", "queries", "budget", "seed"):
        if ex.get(key) is not None and not _is_number(ex[key]):
            raise _bad(f"expected a number, got {ex[key]!r}", file, "examiner", key)
    for key in ("region_size", "config", "image_size", "dimensions", "regions"):
        kind = dict if key in ("region_size", "config") else list
        if ex.get(key) is not None and not isinstance(ex[key], kind):
            what = "an object" if kind is dict else "a list"
            raise _bad(f"expected {what}", file, "examiner", key)
    for i, d in enumerate(ex.get("dimensions") or []):
        rec = f"examiner dimension {i}"
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            raise _bad("expected an object with a name", file, rec, "name")
        for key in ("lo", "hi", "default"):
            if not _is_number(d.get(key)):
                raise _bad(f"expected a number, got {d.get(key)!r}", file, rec, key)
    modes = ex.get("failure_modes")
    if not isinstance(modes, list):
        raise _bad("expected a list", file, "examiner", "failure_modes")
    for i, fm in enumerate(modes):
        rec = f"examiner failure mode {i}"
        if not isinstance(fm, dict):
            raise _bad("expected an object", file, rec, "failure_modes")
        if not isinstance(fm.get("agent"), int) or isinstance(fm.get("agent"), bool):
            raise _bad("expected an integer", file, rec, "agent")
        # null: the error was NaN (an MPJPE without a prediction), which counts as a failure
        if fm.get("error") is not None and not _is_number(fm["error"]):
            raise _bad(f"expected a number, got {fm['error']!r}", file, rec, "error")
        params = fm.get("params")
        if not isinstance(params, dict):
            raise _bad("expected an object name -> value", file, rec, "params")
        for name, v in params.items():
            if not _is_number(v):
                raise _bad(f"expected a number, got {v!r}", file, rec, f"params.{name}")
        point = fm.get("point")
        if point is not None and not (
            isinstance(point, list) and all(_is_number(v) for v in point)
        ):
            raise _bad("expected a list of numbers", file, rec, "point")
        for key in ("image", "region_image"):
            if fm.get(key) is not None and not isinstance(fm[key], str):
                raise _bad("expected a file name", file, rec, key)


# ------------------------------------------------------------------------------------ building


def _float(v: Any) -> float | None:
    if not _is_number(v):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def resolve_image(folder: Path, name: str | None) -> tuple[Path | None, str | None]:
    """The file a recorded image name points to, inside the run folder: ``(path, None)``, or
    ``(None, why)`` when it is missing or would leave the folder (``..``, absolute, a link)."""
    if name is None or name == "":
        return None, None
    rel = Path(name)
    if rel.is_absolute():
        return None, f"image outside the run folder: {name}"
    root = folder.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        return None, f"image outside the run folder: {name}"
    if not path.is_file():
        return None, f"image missing: {name}"
    return path, None


def top_params(
    fm: Mapping[str, Any], dims: Mapping[str, Mapping[str, Any]], n: int = TOP_PARAMS
) -> list[Param]:
    """The ``n`` parameters of a failure mode furthest from their defaults (normalised units),
    furthest first, ties in the order the run lists them; parameters at their default are left
    out.

    ``dims``: dimension name -> ``{lo, hi, default, unit}`` (the run's ``dimensions``). A run
    that does not record its dimensions falls back on ``|point|`` (0 is the middle of a range).
    """
    params = fm.get("params") or {}
    point = fm.get("point")
    found: list[tuple[float, int, Param]] = []
    for i, (name, value) in enumerate(params.items()):
        v = _float(value)
        if v is None:
            continue
        d = dims.get(name)
        if d is not None:
            lo, hi, default = float(d["lo"]), float(d["hi"]), float(d["default"])
            dev = 0.0 if hi == lo else abs(2.0 * (v - default) / (hi - lo))
            unit = str(d.get("unit") or "")
            param = Param(name, v, default, unit, dev)
        elif not dims and isinstance(point, list) and len(point) == len(params):
            dev = abs(float(point[i]))
            param = Param(name, v, None, "", dev)
        else:
            continue
        if dev > 1e-12:
            found.append((-dev, i, param))
    return [p for _, _, p in sorted(found, key=lambda t: (t[0], t[1]))[:n]]


def _order_key(fm: Mapping[str, Any]) -> tuple[int, float, int]:
    # worst first; a missing error (NaN: no prediction for MPJPE, a failure the examiner
    # counts) comes before every number
    err = _float(fm.get("error"))
    return (0 if err is None else 1, -(err or 0.0), int(fm.get("agent") or 0))


def cards(run: Run) -> list[Card]:
    """The run's failure modes as gallery cards, worst error first (ties by agent)."""
    ex = run.results.get("examiner") or {}
    dims = {str(d["name"]): d for d in (ex.get("dimensions") or []) if isinstance(d, dict)}
    regions = {r.get("agent"): r for r in (ex.get("regions") or []) if isinstance(r, dict)}
    out = []
    modes = sorted((fm for fm in ex.get("failure_modes") or []), key=_order_key)
    for i, fm in enumerate(modes):
        agent = int(fm["agent"])
        region = regions.get(agent) or {}
        rate = _float(fm.get("region_failure_rate"))
        if rate is None:
            rate = _float(region.get("failure_rate"))
        image = fm.get("image") or None
        region_image = fm.get("region_image") or None
        image_file, image_problem = resolve_image(run.path, image)
        region_file, region_problem = resolve_image(run.path, region_image)
        if image is None:
            image_problem = "no image recorded"
        out.append(
            Card(
                rank=i + 1,
                agent=agent,
                error=_float(fm.get("error")),
                iterations=_int(fm.get("iterations")),
                region_failure_rate=rate,
                region_samples=_int(fm.get("region_verified_samples")),
                norm_gap=_float(fm.get("norm_gap", region.get("norm_gap"))),
                norm_gap_rad=_float(fm.get("norm_gap_rad", region.get("norm_gap_rad"))),
                params=top_params(fm, dims),
                image=image,
                image_file=image_file,
                image_problem=image_problem,
                region_image=region_image,
                region_file=region_file,
                region_problem=region_problem,
                description=str(fm["description"]) if fm.get("description") else None,
                photo_checks=[
                    dict(pc) for pc in fm.get("photo_checks") or [] if isinstance(pc, dict)
                ],
                evidence=fm.get("evidence") if isinstance(fm.get("evidence"), bool) else None,
                finished=fm.get("finished") if isinstance(fm.get("finished"), bool) else None,
            )
        )
    return out


def _body(ex: Mapping[str, Any]) -> str:
    body = str(ex.get("body") or "?")
    # an SMPL file: its name only (the rest is the user's file system)
    return body if body in ("mannequin", "anny") else Path(body).name


def _settings(ex: Mapping[str, Any]) -> str:
    """The body and scene settings as a signature: ``body:anny|bg:photos|occ:box|...``."""
    sc = ex.get("scene") or {}
    cfg = ex.get("config") or {}
    el = sc.get("camera_elevation") or []
    parts = [
        f"body:{_body(ex)}",
        f"size:{_size(ex.get('image_size')).replace('×', 'x')}",
        f"bg:{sc.get('backgrounds', 'plain')}",
        f"occ:{sc.get('occluder', 'rect')}",
        f"implausible:{sc.get('implausible', 'keep')}",
        f"search:{ex.get('method', 'pg')}",
        f"radius:{cfg.get('mode_radius', '?')}",
    ]
    if len(el) == 2:
        parts.append(f"elev:{el[0]:g}..{el[1]:g}")
    return "|".join(parts)


def _size(v: Any) -> str:
    if isinstance(v, list) and len(v) == 2:
        return f"{v[0]}×{v[1]}"
    return "?"


def search(run: Run, label: str | None = None) -> Search:
    """The report section of one examiner run."""
    r = run.results
    ex = r.get("examiner") or {}
    adapter = r.get("adapter") or {}
    info = adapter.get("info") or {}
    rs = ex.get("region_size") or {}
    groups: dict[str, int] = {}
    for d in ex.get("dimensions") or []:
        g = str(d.get("group") or "?")
        groups[g] = groups.get(g, 0) + 1
    model = model_name(r)
    gallery = cards(run)
    notes = []
    agents, successes = int(ex.get("agents") or 0), int(ex.get("successes") or 0)
    if not gallery:
        notes.append(f"no failure found: none of the {agents} agents passed the threshold")
    elif successes == 0:
        notes.append(f"no agent recorded a success but {len(gallery)} failure modes listed")
    return Search(
        label=label or model,
        model=model,
        adapter=str(adapter.get("name") or "?"),
        architecture=str(info.get("architecture") or "—"),
        run=run.path,
        body=_body(ex),
        image_size=_size(ex.get("image_size")),
        device=str(ex.get("device") or "?"),
        agents=agents,
        successes=successes,
        success_rate=_float(ex.get("success_rate")),
        queries=_int(ex.get("queries")),
        budget=_int(ex.get("budget")),
        seed=_int(ex.get("seed")),
        threshold=_float(ex.get("threshold")),
        metric=str(ex.get("metric") or "?"),
        dimensions=groups,
        norm_gap=_float(rs.get("norm_gap")),
        norm_gap_rad=_float(rs.get("norm_gap_rad")),
        mean_width=_float(rs.get("mean_width")),
        volume=_float(rs.get("volume")),
        cards=gallery,
        version=str((r.get("posebench") or {}).get("version") or "?"),
        created=str(r.get("created") or ""),
        notes=notes,
        method=str(ex.get("method") or "pg"),
        settings=_settings(ex),
        stats=dict(ex.get("stats") or {}),
        baseline=dict((ex.get("baseline") or {}).get("stats") or {}),
        calibration_failure_rate=_float((ex.get("calibration") or {}).get("failure_rate")),
    )


def sections(runs: Sequence[Run]) -> list[Search]:
    """The failure searches among ``runs``, ordered by model name then run folder (so the
    output does not depend on the order given); a model searched twice gets its run folder's
    name in its label."""
    found = sorted(
        (run for run in runs if is_examiner(run.results)),
        key=lambda run: (model_name(run.results), str(run.path)),
    )
    counts: dict[str, int] = {}
    for run in found:
        counts[model_name(run.results)] = counts.get(model_name(run.results), 0) + 1
    out = []
    for run in found:
        model = model_name(run.results)
        out.append(search(run, f"{model} [{run.path.name}]" if counts[model] > 1 else model))
    return out


# --------------------------------------------------------------------------------- formatting


def fmt_num(v: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``—`` when undefined."""
    return "—" if v is None else f"{v:.{digits}f}"


def fmt_param(p: Param) -> str:
    """``camera.azimuth = 66.2 deg (default 0)``."""
    unit = f" {p.unit}" if p.unit else ""
    default = "" if p.default is None else f" (default {p.default:.3g})"
    return f"{p.name} = {p.value:.3g}{unit}{default}"


def fmt_failure(s: Search) -> str:
    """The failure condition: ``1 − OKS ≥ 0.5``."""
    what, unit = ERRORS.get(s.metric, (f"{s.metric} error", ""))
    thr = "?" if s.threshold is None else f"{s.threshold:.3g}"
    return f"{what} ≥ {thr}{' ' + unit if unit else ''}"


def fmt_success(s: Search) -> str:
    """``3 of 8 (37.5%)``."""
    rate = s.success_rate
    if rate is None and s.agents:
        rate = s.successes / s.agents
    pct = "" if rate is None else f" ({100.0 * rate:.1f}%)"
    return f"{s.successes} of {s.agents}{pct}"


def fmt_error(c: Card) -> str:
    """A card's error, ``no prediction`` when it was NaN."""
    return "no prediction" if c.error is None else f"{c.error:.3f}"


def fmt_rate(c: Card) -> str:
    """``100% of 3 samples``."""
    if c.region_failure_rate is None:
        return "—"
    n = f" of {c.region_samples} samples" if c.region_samples else ""
    return f"{100.0 * c.region_failure_rate:.0f}%{n}"
