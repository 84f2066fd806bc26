"""advland's JSON reports as typed Python objects.

Every report file is an envelope ``{schema_version, kind, meta, data}``. :func:`load` reads
one into :class:`Report` or, for the kinds researchers use most, a subclass with typed fields
(:class:`SurfaceReport`, :class:`SharpnessReport`, :class:`EvalReport`, :class:`TrainReport`,
:class:`FlatnessReport`, :class:`CompareReport`, :class:`RelateReport`). The JSON parts need
only the standard library; grids, spectra, curves and distributions are numpy arrays, made
when asked for, so numpy is needed only for them, and pandas only for ``to_pandas()``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Type, Union

if TYPE_CHECKING:
    import numpy
    import pandas

#: The report schema version this package reads (advland's ``SCHEMA_VERSION``).
SCHEMA_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as err:
        raise ImportError(
            "advland gives grids, spectra and distributions as numpy arrays: "
            "pip install numpy (or advland[numpy])"
        ) from err
    return numpy


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as err:
        raise ImportError(
            "to_pandas() needs pandas: pip install pandas (or advland[pandas])"
        ) from err
    return pandas


def _array(values: Any) -> numpy.ndarray:
    return _numpy().asarray(values, dtype=float)


@dataclass(frozen=True)
class Attack:
    """A PGD attack (advland's ``PgdSettings``)."""

    norm: str
    eps: float
    step_size: float
    steps: int
    random_start: bool
    restarts: int

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> Attack:
        return cls(
            norm=d["norm"],
            eps=d["eps"],
            step_size=d["step_size"],
            steps=d["steps"],
            random_start=d["random_start"],
            restarts=d["restarts"],
        )

    @property
    def label(self) -> str:
        """``linf:0.1`` (norm and radius), as advland's ``--attack`` flag writes it."""
        return f"{self.norm}:{self.eps:g}"


def _attack(d: Optional[Dict[str, Any]]) -> Optional[Attack]:
    return None if d is None else Attack.from_json(d)


@dataclass(frozen=True)
class DataSubset:
    """The examples a result was computed on."""

    name: str
    examples: int
    total: int
    selection: str


@dataclass(frozen=True)
class Cost:
    """Examples passed forward and backward (attack steps included)."""

    forward: int
    backward: int


@dataclass(frozen=True)
class Meta:
    """Provenance of a report: versions, command line, seed, resolved config, time, cost."""

    advland_version: str
    burn_version: str
    command: List[str]
    device: str
    seed: int
    config: Dict[str, Any] = field(repr=False)
    data: DataSubset
    started_unix_s: int
    duration_s: float
    cost: Cost

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> Meta:
        return cls(
            advland_version=d["advland_version"],
            burn_version=d["burn_version"],
            command=list(d["command"]),
            device=d["device"],
            seed=d["seed"],
            config=d["config"],
            data=DataSubset(**d["data"]),
            started_unix_s=d["started_unix_s"],
            duration_s=d["duration_s"],
            cost=Cost(**d["cost"]),
        )


@dataclass
class Report:
    """Any advland report: the envelope, with the payload as the raw dict ``data``.

    Kinds without a class of their own (``demo``, ``linear``) are this class; every report
    keeps ``data`` whatever its class.
    """

    kind: str
    schema_version: int
    meta: Meta
    data: Dict[str, Any] = field(repr=False)
    #: The file it was read from (``None`` for a temporary file already removed).
    path: Optional[Path]

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> Report:
        return cls(**_envelope(raw, path))

    def to_pandas(self) -> pandas.DataFrame:
        """The report as a table; only the typed kinds have one."""
        raise NotImplementedError(
            f"`{self.kind}` reports have no table form; read the dict `.data`"
        )


# ---------------------------------------------------------------------------------------------
# Surfaces


@dataclass(frozen=True)
class Axis:
    """A grid axis: ``points`` coordinates from ``min`` to ``max``, both included."""

    min: float
    max: float
    points: int

    def values(self) -> List[float]:
        """The coordinates, computed as advland does (``min + i·step``, the last one ``max``),
        so they equal the exported ``x.npy``/``y.npy`` bit for bit."""
        if self.points <= 1:
            return [self.min]
        step = (self.max - self.min) / (self.points - 1)
        return [self.min + step * i for i in range(self.points - 1)] + [self.max]


@dataclass
class SurfaceReport(Report):
    """A loss surface: loss and accuracy of θ₀ + a·d₁ (+ b·d₂) on a grid, per objective.

    Grids are ``[len(y), len(x)]`` arrays (``[len(x)]`` in 1-D), so ``contourf(s.x, s.y,
    s.loss("clean"))`` draws them; points a shard does not hold are NaN.
    """

    checkpoint: str
    checkpoint_hash: str
    epoch: int
    theta_norm: float
    #: How d₁ (and d₂) were made, their SHA-256 and norms (advland's ``DirectionsInfo``).
    directions: Dict[str, Any] = field(repr=False)
    x_axis: Axis
    y_axis: Optional[Axis]
    attack: Optional[Attack]
    precision: str
    examples: int
    #: (index, count) of the shard held; (0, 1) for a whole surface.
    shard: Tuple[int, int]
    #: Flat indices ``k = j·nx + i`` of the points held.
    points: List[int] = field(repr=False)
    #: The objectives, in the report's order (``clean``, ``adversarial``, …).
    objectives: List[str]

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> SurfaceReport:
        d = raw["data"]
        y = d.get("y")
        return cls(
            **_envelope(raw, path),
            checkpoint=d["checkpoint"],
            checkpoint_hash=d["checkpoint_hash"],
            epoch=d["epoch"],
            theta_norm=d["theta_norm"],
            directions=d["directions"],
            x_axis=Axis(**d["x"]),
            y_axis=None if y is None else Axis(**y),
            attack=_attack(d.get("attack")),
            precision=d["precision"],
            examples=d["examples"],
            shard=(d["shard"]["index"], d["shard"]["count"]),
            points=list(d["points"]),
            objectives=[v["objective"] for v in d["values"]],
        )

    @property
    def shape(self) -> Tuple[int, ...]:
        """``(ny, nx)`` of a 2-D surface, ``(nx,)`` of a 1-D one."""
        if self.y_axis is None:
            return (self.x_axis.points,)
        return (self.y_axis.points, self.x_axis.points)

    @property
    def complete(self) -> bool:
        """Whether every grid point is present (not a shard)."""
        return len(self.points) == math.prod(self.shape)

    @property
    def x(self) -> numpy.ndarray:
        """Coordinates along d₁."""
        return _array(self.x_axis.values())

    @property
    def y(self) -> Optional[numpy.ndarray]:
        """Coordinates along d₂ (``None`` for a 1-D surface)."""
        return None if self.y_axis is None else _array(self.y_axis.values())

    def _values(self, objective: Optional[str]) -> Dict[str, Any]:
        wanted = objective or self.objectives[0]
        for v in self.data["values"]:
            if v["objective"] == wanted:
                return v
        raise KeyError(f"no `{wanted}` objective in this surface (it has {self.objectives})")

    def _grid(self, values: List[float]) -> numpy.ndarray:
        np = _numpy()
        flat = np.full(math.prod(self.shape), np.nan)
        flat[np.asarray(self.points, dtype=np.intp)] = values
        return flat.reshape(self.shape)

    def loss(self, objective: Optional[str] = None) -> numpy.ndarray:
        """The mean loss of ``objective`` (default: the first) on the grid."""
        return self._grid(self._values(objective)["loss"])

    def accuracy(self, objective: Optional[str] = None) -> Optional[numpy.ndarray]:
        """The accuracy of ``objective`` on the grid; ``None`` when not recorded."""
        v = self._values(objective)
        return self._grid(v["accuracy"]) if v.get("accuracy") else None

    def to_pandas(self) -> pandas.DataFrame:
        """One row per grid point held: ``i``, ``j``, ``x``, ``y`` and ``<objective>_loss``,
        ``<objective>_accuracy`` columns (names with ``_`` for ``-``)."""
        xs = self.x_axis.values()
        ys = self.y_axis.values() if self.y_axis else [0.0]
        nx = len(xs)
        table: Dict[str, List[Any]] = {
            "i": [k % nx for k in self.points],
            "j": [k // nx for k in self.points],
        }
        table["x"] = [xs[i] for i in table["i"]]
        if self.y_axis is not None:
            table["y"] = [ys[j] for j in table["j"]]
        for v in self.data["values"]:
            name = v["objective"].replace("-", "_")
            table[f"{name}_loss"] = list(v["loss"])
            if v.get("accuracy"):
                table[f"{name}_accuracy"] = list(v["accuracy"])
        return _pandas().DataFrame(table)


# ---------------------------------------------------------------------------------------------
# Evaluation and training


@dataclass(frozen=True)
class Metrics:
    """Mean loss and accuracy over ``examples`` examples."""

    loss: float
    accuracy: float
    examples: int


@dataclass(frozen=True)
class RobustMetrics:
    """Loss and accuracy under one attack."""

    attack: Attack
    metrics: Metrics


@dataclass(frozen=True)
class EvalResult:
    """Clean and attacked performance on one data subset."""

    clean: Metrics
    robust: List[RobustMetrics]

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> EvalResult:
        return cls(
            clean=Metrics(**d["clean"]),
            robust=[
                RobustMetrics(Attack.from_json(r["attack"]), Metrics(**r["metrics"]))
                for r in d["robust"]
            ],
        )

    @property
    def worst_case_accuracy(self) -> float:
        """The lowest accuracy over clean inputs and every attack."""
        return min([self.clean.accuracy, *(r.metrics.accuracy for r in self.robust)])

    def rows(self) -> List[Dict[str, Any]]:
        """One dict per input kind (clean, then each attack)."""
        out = [{"inputs": "clean", "norm": None, "eps": None, "steps": None, **vars(self.clean)}]
        for r in self.robust:
            out.append(
                {
                    "inputs": r.attack.label,
                    "norm": r.attack.norm,
                    "eps": r.attack.eps,
                    "steps": r.attack.steps,
                    **vars(r.metrics),
                }
            )
        return out


@dataclass
class EvalReport(Report):
    """``advland eval``: clean and PGD-robust loss and accuracy of one model."""

    model_path: str
    #: Epochs the model was trained for (0 when unknown).
    model_epoch: int
    result: EvalResult

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> EvalReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            model_path=d["model_path"],
            model_epoch=d["epoch"],
            result=EvalResult.from_json(d["result"]),
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per input kind: clean, then each attack (``inputs`` is ``linf:0.1``)."""
        return _pandas().DataFrame(self.result.rows())


@dataclass(frozen=True)
class Epoch:
    """One line of the training log."""

    epoch: int
    lr: float
    train_objective: Metrics
    train_clean: Metrics
    test: EvalResult
    duration_s: float


@dataclass
class TrainReport(Report):
    """``train.json``: the per-epoch log of a training run and its checkpoints."""

    parameters: int
    epochs: List[Epoch] = field(repr=False)
    #: ``(epoch, directory relative to the run directory)`` of every saved checkpoint.
    checkpoints: List[Tuple[int, str]]

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> TrainReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            parameters=d["parameters"],
            epochs=[
                Epoch(
                    epoch=e["epoch"],
                    lr=e["lr"],
                    train_objective=Metrics(**e["train_objective"]),
                    train_clean=Metrics(**e["train_clean"]),
                    test=EvalResult.from_json(e["test"]),
                    duration_s=e["duration_s"],
                )
                for e in d["epochs"]
            ],
            checkpoints=[(c["epoch"], c["path"]) for c in d["checkpoints"]],
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per epoch: lr, training objective and clean metrics, test clean and
        robust metrics (``test_linf:0.1_accuracy``), seconds, and the checkpoint saved after
        it (``None`` when none was)."""
        saved = dict(self.checkpoints)
        rows = []
        for e in self.epochs:
            row: Dict[str, Any] = {"epoch": e.epoch, "lr": e.lr}
            for prefix, m in [
                ("train_objective", e.train_objective),
                ("train_clean", e.train_clean),
                ("test_clean", e.test.clean),
                *((f"test_{r.attack.label}", r.metrics) for r in e.test.robust),
            ]:
                row[f"{prefix}_loss"] = m.loss
                row[f"{prefix}_accuracy"] = m.accuracy
            row["duration_s"] = e.duration_s
            row["checkpoint"] = saved.get(e.epoch)
            rows.append(row)
        return _pandas().DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Sharpness and flatness


@dataclass(frozen=True)
class ObjectiveInfo:
    """What a sharpness report measured: the loss, its attack and the point θ₀."""

    kind: str
    attack: Optional[Attack]
    precision: str
    model_mode: str
    frozen_activations: bool
    examples: int
    checkpoint: str
    epoch: int
    theta_norm: float
    parameters: int
    loss: float

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> ObjectiveInfo:
        fields = dict(d)
        fields["attack"] = _attack(d.get("attack"))
        return cls(**fields)


@dataclass
class SharpnessReport(Report):
    """``advland sharpness``: one estimator (``hessian``, ``lipschitz``, ``kinks``, ``trace``,
    ``density``) of one objective at one checkpoint; ``estimate`` is its raw result."""

    estimator: str
    objective: ObjectiveInfo
    gradient_evaluations: int
    estimate: Dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> SharpnessReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            estimator=d["estimate"]["estimator"],
            objective=ObjectiveInfo.from_json(d["objective"]),
            gradient_evaluations=d["gradient_evaluations"],
            estimate=d["estimate"],
        )

    def _need(self, estimator: str) -> Dict[str, Any]:
        if self.estimator != estimator:
            raise ValueError(f"a `{self.estimator}` estimate, not `{estimator}`")
        return self.estimate

    @property
    def eigenvalues(self) -> numpy.ndarray:
        """Top Hessian eigenvalues, signed, largest |λ| first (``hessian``)."""
        return _array([e["value"] for e in self._need("hessian")["eigenvalues"]])

    @property
    def lambda_min(self) -> Optional[float]:
        """The smallest eigenvalue (``hessian`` with Lanczos), else ``None``."""
        return self._need("hessian").get("lambda_min")

    @property
    def kappa_max(self) -> Dict[str, float]:
        """Largest gradient-Lipschitz estimate κ per objective (``lipschitz``)."""
        return {o["kind"]: o["kappa_max"] for o in self._need("lipschitz")["objectives"]}

    @property
    def density(self) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The smoothed spectral density as ``(grid, density)`` (``density``)."""
        d = self._need("density")
        return _array(d["grid"]), _array(d["density"])

    def to_pandas(self) -> pandas.DataFrame:
        """``hessian``: a row per eigenvalue; ``lipschitz``: a row per objective, probe kind
        and radius; ``kinks``: a row per point of the line; ``trace``: a row per probe of
        the running mean; ``density``: a row per grid point."""
        e = self.estimate
        rows: List[Dict[str, Any]]
        if self.estimator == "hessian":
            rows = [
                {"k": i + 1, **{k: v[k] for k in ("value", "residual", "hvps", "stop")}}
                for i, v in enumerate(e["eigenvalues"])
            ]
        elif self.estimator == "lipschitz":
            rows = [
                {
                    "objective": o["kind"],
                    "probe": probe,
                    "radius": p["radius"],
                    "kappa_max": p["kappa_max"],
                    "kappa_mean": p["kappa_mean"],
                    "directions": len(p["secants"]),
                }
                for o in e["objectives"]
                for probe in ("random", "gradient_direction")
                for p in o[probe]
            ]
        elif self.estimator == "kinks":
            rows = [{"t": t, "loss": loss} for t, loss in zip(e["t"], e["loss"])]
        elif self.estimator == "trace":
            rows = [{"probes": i + 1, "mean": m} for i, m in enumerate(e["running_mean"])]
        else:
            rows = [{"lambda": g, "density": v} for g, v in zip(e["grid"], e["density"])]
        return _pandas().DataFrame(rows)


@dataclass(frozen=True)
class Distribution:
    """Summary of a per-example measure over the examples."""

    mean: float
    median: float
    q10: float
    q90: float
    min: float
    max: float

    @property
    def quantiles(self) -> numpy.ndarray:
        """``[min, q10, median, q90, max]``."""
        return _array([self.min, self.q10, self.median, self.q90, self.max])


@dataclass(frozen=True)
class LossCurve:
    """Mean loss along a line x + t·u in input space."""

    direction: str
    t_values: Tuple[float, ...] = field(repr=False)
    loss_values: Tuple[float, ...] = field(repr=False)

    @property
    def t(self) -> numpy.ndarray:
        return _array(self.t_values)

    @property
    def mean_loss(self) -> numpy.ndarray:
        return _array(self.loss_values)


@dataclass
class FlatnessReport(Report):
    """``advland flatness``: input-space measures at clean and adversarial points."""

    checkpoint: str
    epoch: int
    attack: Attack
    precision: str
    examples: int
    frozen_activations: bool
    #: ``point`` (``clean``/``adversarial``) → measure (``grad_l2``, ``hessian_top``, …) →
    #: its distribution over the examples.
    measures: Dict[str, Dict[str, Distribution]] = field(repr=False)
    curves: List[LossCurve] = field(repr=False)

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> FlatnessReport:
        d = raw["data"]
        measures = {}
        for p in d["points"]:
            measures[p["point"]] = {
                name: Distribution(**value)
                for name, value in p.items()
                if isinstance(value, dict)
            }
        return cls(
            **_envelope(raw, path),
            checkpoint=d["checkpoint"],
            epoch=d["epoch"],
            attack=Attack.from_json(d["attack"]),
            precision=d["precision"],
            examples=d["examples"],
            frozen_activations=d["frozen_activations"],
            measures=measures,
            curves=[
                LossCurve(c["direction"], tuple(c["t"]), tuple(c["mean_loss"]))
                for c in d["curves"]
            ],
        )

    @property
    def input_surface(self) -> Optional[numpy.ndarray]:
        """The 2-D input-space loss surface around one example, ``[ny, nx]``, if measured."""
        s = self.data.get("surface")
        if s is None:
            return None
        return _array(s["loss"]).reshape(s["y"]["points"], s["x"]["points"])

    def to_pandas(self) -> pandas.DataFrame:
        """One row per point kind and measure, with the distribution's statistics."""
        rows = [
            {"point": point, "measure": name, **vars(dist)}
            for point, by_name in self.measures.items()
            for name, dist in by_name.items()
        ]
        return _pandas().DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Across checkpoints


@dataclass
class CompareReport(Report):
    """``advland compare``: every measure per run and checkpoint."""

    runs: List[str]
    measures: List[str]

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> CompareReport:
        d = raw["data"]
        return cls(**_envelope(raw, path), runs=list(d["runs"]), measures=list(d["measures"]))

    def to_pandas(self) -> pandas.DataFrame:
        """One row per run and checkpoint (epoch), a column per measure."""
        rows = [{"run": r["run"], "epoch": r["epoch"], **r["values"]} for r in self.data["rows"]]
        return _pandas().DataFrame(rows, columns=["run", "epoch", *self.measures])


@dataclass
class RelateReport(Report):
    """``advland relate``: input flatness next to κ per checkpoint and attack, with Spearman
    correlations (``correlations`` is the raw list)."""

    correlations: List[Dict[str, Any]]

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> RelateReport:
        return cls(**_envelope(raw, path), correlations=list(raw["data"]["correlations"]))

    def to_pandas(self) -> pandas.DataFrame:
        """One row per checkpoint and attack; attacks as ``linf:0.1`` labels."""
        rows = []
        for r in self.data["rows"]:
            row = dict(r)
            row["attack"] = Attack.from_json(r["attack"]).label
            trained = r.get("trained_with")
            row["trained_with"] = Attack.from_json(trained).label if trained else "standard"
            rows.append(row)
        return _pandas().DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Reading


def _envelope(raw: Dict[str, Any], path: Optional[Path]) -> Dict[str, Any]:
    return {
        "kind": raw["kind"],
        "schema_version": raw["schema_version"],
        "meta": Meta.from_json(raw["meta"]),
        "data": raw["data"],
        "path": path,
    }


_KINDS: Dict[str, Type[Report]] = {
    "surface": SurfaceReport,
    "sharpness": SharpnessReport,
    "eval": EvalReport,
    "train": TrainReport,
    "flatness": FlatnessReport,
    "compare": CompareReport,
    "relate": RelateReport,
}


def load(path: PathLike) -> Report:
    """Reads an advland report file into its typed class (a plain :class:`Report` for
    kinds without one).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not JSON, not an advland report, another schema version, or a payload
            that does not match its kind; the message names the file.
    """
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{p}: not JSON ({err})") from err
    if not isinstance(raw, dict) or not {"schema_version", "kind", "meta", "data"} <= raw.keys():
        hint = ""
        if isinstance(raw, dict) and raw.get("format") == "advland-grid-export":
            hint = " (an export-grid sidecar: read it with advland.load_grid)"
        raise ValueError(
            f"{p}: not an advland report (no schema_version/kind/meta/data envelope){hint}"
        )
    if raw["schema_version"] != SCHEMA_VERSION:
        raise ValueError(
            f"{p}: schema_version {raw['schema_version']}; this advland package reads "
            f"reports of schema version {SCHEMA_VERSION} only"
        )
    cls = _KINDS.get(raw["kind"], Report)
    try:
        return cls.from_json(raw, p)
    except (KeyError, TypeError) as err:
        raise ValueError(f"{p}: does not match the `{raw['kind']}` report schema ({err!r})") from err


@dataclass
class Grid:
    """The files of ``advland export-grid``: axes and grids as numpy arrays, and the
    sidecar ``grid.json`` (axes, provenance) as a dict."""

    x: numpy.ndarray
    y: Optional[numpy.ndarray]
    #: ``clean-loss``, ``adversarial-accuracy``, … → the grid.
    arrays: Dict[str, numpy.ndarray]
    sidecar: Dict[str, Any] = field(repr=False)


def load_grid(directory: PathLike) -> Grid:
    """Reads the ``.npy`` files an ``advland export-grid --out DIRECTORY`` wrote (numpy
    needed), as listed in its ``grid.json``.

    Raises:
        FileNotFoundError: no ``grid.json`` or a listed ``.npy`` file missing.
        ValueError: ``grid.json`` is not an export-grid sidecar, or no ``.npy`` was exported.
    """
    d = Path(directory)
    side = json.loads((d / "grid.json").read_text(encoding="utf-8"))
    if side.get("format") != "advland-grid-export":
        raise ValueError(f"{d / 'grid.json'}: not an advland export-grid sidecar")
    np = _numpy()

    def npy(files: List[str]) -> numpy.ndarray:
        name = next((f for f in files if f.endswith(".npy")), None)
        if name is None:
            raise ValueError(f"{d}: exported without npy (use --format npy)")
        return np.load(d / name, allow_pickle=False)

    return Grid(
        x=npy(side["x"]["files"]),
        y=npy(side["y"]["files"]) if "y" in side else None,
        arrays={a["name"]: npy(a["files"]) for a in side["arrays"]},
        sidecar=side,
    )
