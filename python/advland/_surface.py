"""Loss surfaces (``advland surface`` and ``merge``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from advland._envelope import Attack, Report, _array, _attack, _envelope, _numpy, _pandas

if TYPE_CHECKING:
    import numpy
    import pandas


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
