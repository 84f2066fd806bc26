"""Parameter-space sharpness, input-space flatness, and measures across checkpoints
(``advland sharpness``, ``flatness``, ``compare``, ``relate``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from advland._envelope import Attack, Report, _array, _attack, _envelope, _pandas

if TYPE_CHECKING:
    import numpy
    import pandas


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


_WEIGHT_ESTIMATORS = ("worst-case", "average-case", "awp")


@dataclass
class SharpnessReport(Report):
    """``advland sharpness``: one estimator (``hessian``, ``lipschitz``, ``kinks``, ``trace``,
    ``density``, ``worst-case``, ``average-case``, ``awp``) of one objective at one checkpoint;
    ``estimate`` is its raw result."""

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
    def weight_sharpness(self) -> Tuple[float, Optional[float]]:
        """Loss increase under weight perturbations, mean and standard error over the batches
        of m examples (``worst-case``, ``average-case``, ``awp``)."""
        if self.estimator not in _WEIGHT_ESTIMATORS:
            raise ValueError(f"a `{self.estimator}` estimate, not a weight-perturbation one")
        increase = self.estimate["increase"]
        return increase["mean"], increase.get("std_error")

    @property
    def density(self) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """The smoothed spectral density as ``(grid, density)`` (``density``)."""
        d = self._need("density")
        return _array(d["grid"]), _array(d["density"])

    def to_pandas(self) -> pandas.DataFrame:
        """``hessian``: a row per eigenvalue; ``lipschitz``: a row per objective, probe kind
        and radius; ``kinks``: a row per point of the line; ``trace``: a row per probe of
        the running mean; ``density``: a row per grid point; ``worst-case``, ``average-case``,
        ``awp``: a row per batch."""
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
        elif self.estimator in _WEIGHT_ESTIMATORS:
            rows = [
                {"batch": i + 1, **{k: v for k, v in b.items() if k != "trace"}}
                for i, b in enumerate(e["batches"])
            ]
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
                name: Distribution(**value) for name, value in p.items() if isinstance(value, dict)
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
                LossCurve(c["direction"], tuple(c["t"]), tuple(c["mean_loss"])) for c in d["curves"]
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
