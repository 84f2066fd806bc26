"""Evaluation and training reports (``advland eval``, ``train.json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from advland._envelope import Attack, Report, _envelope, _pandas

if TYPE_CHECKING:
    import pandas


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
    #: The rate of the epoch's last step (``lr`` is its first's); ``None`` in logs written
    #: before per-minibatch schedules.
    lr_last: Optional[float] = None
    #: ``(min, max)`` radius of the epoch's training attacks; ``None`` under standard
    #: training and in logs written before ε schedules.
    eps: Optional[Tuple[float, float]] = None
    #: Clean and attacked performance on the run's validation split (``validation_subset``,
    #: held out of the training data); ``None`` when the run held none out.
    validation: Optional[EvalResult] = None


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
                    lr_last=e.get("lr_last"),
                    eps=(e["eps"]["min"], e["eps"]["max"]) if "eps" in e else None,
                    validation=(
                        EvalResult.from_json(e["validation"]) if "validation" in e else None
                    ),
                )
                for e in d["epochs"]
            ],
            checkpoints=[(c["epoch"], c["path"]) for c in d["checkpoints"]],
        )

    def to_pandas(self) -> pandas.DataFrame:
        """One row per epoch: lr (first and last step), the training attack's ε range,
        training objective and clean metrics, test clean and
        robust metrics (``test_linf:0.1_accuracy``), the same for the validation split when
        the run held one out (``validation_clean_accuracy``), seconds, and the checkpoint
        saved after it (``None`` when none was)."""
        saved = dict(self.checkpoints)
        rows = []
        for e in self.epochs:
            row: Dict[str, Any] = {"epoch": e.epoch, "lr": e.lr, "lr_last": e.lr_last}
            row["eps_min"], row["eps_max"] = e.eps if e.eps is not None else (None, None)
            metrics = [("train_objective", e.train_objective), ("train_clean", e.train_clean)]
            for split, result in [("test", e.test), ("validation", e.validation)]:
                if result is not None:
                    metrics.append((f"{split}_clean", result.clean))
                    metrics.extend((f"{split}_{r.attack.label}", r.metrics) for r in result.robust)
            for prefix, m in metrics:
                row[f"{prefix}_loss"] = m.loss
                row[f"{prefix}_accuracy"] = m.accuracy
            row["duration_s"] = e.duration_s
            row["checkpoint"] = saved.get(e.epoch)
            rows.append(row)
        return _pandas().DataFrame(rows)
