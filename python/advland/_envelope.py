"""The envelope every advland report shares (``schema_version``, ``kind``, ``meta``,
``data``), the attack settings most reports name, and the lazy numpy/pandas imports: the JSON
parts need only the standard library, the arrays numpy and the tables pandas."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

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
    #: The weights files (``--weights``, ``advland import``) the models came from: path,
    #: sha256, format, renamed, notes, extras (the file's ``epoch``, ``test_robust_acc``, …).
    weights: List[Dict[str, Any]] = field(default_factory=list)
    #: The build and process: ``source_revision`` (git commit, ``-dirty`` with uncommitted
    #: changes), ``binary_sha256``, ``peak_rss_mib``, ``host`` (the processor: ``cpu``, ``simd``,
    #: ``cache_kib``, ``threads``; results differ across processors at rounding level); each key
    #: absent where unknown.
    provenance: Dict[str, Any] = field(default_factory=dict)

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
            weights=list(d.get("weights", [])),
            provenance=dict(d.get("provenance", {})),
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


def _envelope(raw: Dict[str, Any], path: Optional[Path]) -> Dict[str, Any]:
    return {
        "kind": raw["kind"],
        "schema_version": raw["schema_version"],
        "meta": Meta.from_json(raw["meta"]),
        "data": raw["data"],
        "path": path,
    }
