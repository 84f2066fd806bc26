"""Perturbation statistics, the inner problem's bounds and mode connectivity (``advland
perturbation``, ``bound``, ``connect``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from advland._envelope import Attack, Report, _array, _attack, _envelope, _pandas
from advland._measures import Distribution

if TYPE_CHECKING:
    import numpy
    import pandas


@dataclass(frozen=True)
class CosineStats:
    """Pairwise cosine similarities of one family of per-example vectors."""

    vectors: int
    zero_vectors: int
    mean: float
    pairwise: Distribution
    mean_norm: float

    @classmethod
    def from_json(cls, d: Dict[str, Any]) -> CosineStats:
        return cls(
            vectors=d["vectors"],
            zero_vectors=d["zero_vectors"],
            mean=d["mean"],
            pairwise=Distribution(**d["pairwise"]),
            mean_norm=d["mean_norm"],
        )


@dataclass
class PerturbationReport(Report):
    """``advland perturbation``: cosines of the perturbations and of per-example parameter
    gradients (adversarial and clean), and the attack's progress per PGD step."""

    checkpoint: str
    epoch: int
    attack: Attack
    examples: int
    clean_accuracy: float
    perturbations: CosineStats
    gradient_examples: int
    adversarial_gradients: CosineStats
    clean_gradients: CosineStats
    steps: List[Dict[str, Any]] = field(repr=False)

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> PerturbationReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            checkpoint=d["checkpoint"],
            epoch=d["epoch"],
            attack=Attack.from_json(d["attack"]),
            examples=d["examples"],
            clean_accuracy=d["clean_accuracy"],
            perturbations=CosineStats.from_json(d["perturbations"]),
            gradient_examples=d["gradient_examples"],
            adversarial_gradients=CosineStats.from_json(d["adversarial_gradients"]),
            clean_gradients=CosineStats.from_json(d["clean_gradients"]),
            steps=list(d["steps"]),
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per restart and PGD step: mean loss, accuracy, success rate."""
        return _pandas().DataFrame(self.steps)


@dataclass
class BoundReport(Report):
    """``advland bound``: paper.md's Propositions A/B per example (the face δ* lies on, μ, the
    mixed-Hessian norm, the bounds on ‖Dδ*‖ and κ) against δ's measured motion and κ under
    small random steps of θ. Absent values (no bound where μ ≤ 0, no curvature at a vertex)
    are ``None``."""

    checkpoint: str
    epoch: int
    attack: Attack
    examples: int
    theta_norm: float
    probe_step: float
    hessian_norm: float
    concave: int
    kappa_bound: Optional[float]
    kappa_bound_concave: float
    kappa: Distribution
    mu: Optional[Distribution]
    mixed: Distribution
    stationarity: Distribution
    motion: Distribution
    motion_check: Dict[str, Any]
    correlations: Dict[str, Optional[float]]
    per_example: List[Dict[str, Any]] = field(repr=False)

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> BoundReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            checkpoint=d["checkpoint"],
            epoch=d["epoch"],
            attack=Attack.from_json(d["attack"]),
            examples=d["examples"],
            theta_norm=d["theta_norm"],
            probe_step=d["probe_step"],
            hessian_norm=d["hessian_norm"],
            concave=d["concave"],
            kappa_bound=d.get("kappa_bound"),
            kappa_bound_concave=d["kappa_bound_concave"],
            kappa=Distribution(**d["kappa"]),
            mu=Distribution(**d["mu"]) if "mu" in d else None,
            mixed=Distribution(**d["mixed"]),
            stationarity=Distribution(**d["stationarity"]),
            motion=Distribution(**d["motion"]),
            motion_check=dict(d["motion_check"]),
            correlations={
                k: d["correlations"].get(k)
                for k in ("mu", "gradient_norm", "curvature_max", "motion_bound")
            },
            per_example=[
                {
                    k: e.get(k)
                    for k in (
                        "face_dim",
                        "sphere",
                        "gradient_norm",
                        "multiplier",
                        "stationarity",
                        "curvature_max",
                        "curvature_min",
                        "mu",
                        "mixed",
                        "motion_bound",
                        "motion",
                        "face_changes",
                    )
                }
                for e in d["per_example"]
            ],
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per example, in subset order."""
        return _pandas().DataFrame(self.per_example)


@dataclass
class ConnectivityReport(Report):
    """``advland connect``: loss and accuracy along a trained Bézier curve and along the
    straight line between two checkpoints."""

    checkpoint: str
    to: str
    objective: str
    attack: Optional[Attack]
    endpoint_distance: float
    control_offset: float
    train_loss: List[float] = field(repr=False)

    @classmethod
    def from_json(cls, raw: Dict[str, Any], path: Optional[Path]) -> ConnectivityReport:
        d = raw["data"]
        return cls(
            **_envelope(raw, path),
            checkpoint=d["checkpoint"],
            to=d["to"],
            objective=d["objective"],
            attack=_attack(d.get("attack")),
            endpoint_distance=d["endpoint_distance"],
            control_offset=d["control_offset"],
            train_loss=list(d["train_loss"]),
        )

    @property
    def t(self) -> numpy.ndarray:
        """The scanned values of t."""
        return _array(self.data["curve"]["t"])

    def loss(self, path: str = "curve", adversarial: bool = False) -> numpy.ndarray:
        """Loss along ``curve`` or ``line``; the adversarial one (if scanned) on request."""
        values = self.data[path]["adversarial_loss" if adversarial else "clean_loss"]
        if values is None:
            raise ValueError("the adversarial loss was not scanned (connect --scan-adversarial)")
        return _array(values)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per path and t, with every scanned loss and accuracy."""
        rows = []
        for path in ("curve", "line"):
            scan = self.data[path]
            for i, t in enumerate(scan["t"]):
                row = {"path": scan["path"], "t": t}
                for key in (
                    "clean_loss",
                    "clean_accuracy",
                    "adversarial_loss",
                    "adversarial_accuracy",
                ):
                    if scan.get(key) is not None:
                        row[key] = scan[key][i]
                rows.append(row)
        return _pandas().DataFrame(rows)
