"""Reading report files into their typed classes, and the files of ``advland export-grid``.

:func:`load` reads one into :class:`Report` or, for the kinds researchers use most, a
subclass with typed fields (:class:`SurfaceReport`, :class:`SharpnessReport`,
:class:`EvalReport`, :class:`TrainReport`, :class:`FlatnessReport`, :class:`CompareReport`,
:class:`RelateReport`, :class:`PerturbationReport`, :class:`BoundReport`,
:class:`ConnectivityReport`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Type

from advland._envelope import SCHEMA_VERSION, PathLike, Report, _numpy
from advland._measures import CompareReport, FlatnessReport, RelateReport, SharpnessReport
from advland._paths import BoundReport, ConnectivityReport, PerturbationReport
from advland._surface import SurfaceReport
from advland._training import EvalReport, TrainReport

if TYPE_CHECKING:
    import numpy

_KINDS: Dict[str, Type[Report]] = {
    "surface": SurfaceReport,
    "sharpness": SharpnessReport,
    "eval": EvalReport,
    "train": TrainReport,
    "flatness": FlatnessReport,
    "compare": CompareReport,
    "relate": RelateReport,
    "perturbation": PerturbationReport,
    "bound": BoundReport,
    "connectivity": ConnectivityReport,
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
        raise ValueError(
            f"{p}: does not match the `{raw['kind']}` report schema ({err!r})"
        ) from err


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
