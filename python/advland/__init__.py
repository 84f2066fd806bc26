"""advland from Python: run the ``advland`` executable and read its reports.

``pip install advland`` puts the ``advland`` command on PATH (``python -m advland`` runs it
too) and installs this small module, which needs only the standard library; numpy is needed
for the arrays (grids, spectra, curves) and pandas for ``to_pandas()``.

    >>> import advland
    import advland

    advland.run("train", out="runs/linf", norm="linf", eps=0.1, epochs=2)
    s = advland.run("surface", checkpoint="runs/linf", x="-1:1:21", y="-1:1:21")
    s.loss("clean").shape  # (21, 21): y by x

- :func:`run` runs a command and returns the report it wrote; :func:`call` runs any
  command and returns its standard output; both raise :class:`AdvlandError` with advland's
  message when it fails.
- :func:`load` reads a report file; :func:`load_grid` the files of ``advland export-grid``.
"""

from __future__ import annotations

from advland._binary import BINARY_ENV, find_binary
from advland._envelope import SCHEMA_VERSION, Attack, Cost, DataSubset, Meta, Report
from advland._load import Grid, load, load_grid
from advland._measures import (
    CompareReport,
    Distribution,
    FlatnessReport,
    LossCurve,
    ObjectiveInfo,
    RelateReport,
    SharpnessReport,
)
from advland._paths import BoundReport, ConnectivityReport, CosineStats, PerturbationReport
from advland._surface import Axis, SurfaceReport
from advland._training import Epoch, EvalReport, EvalResult, Metrics, RobustMetrics, TrainReport
from advland._run import AdvlandError, call, run


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover (Python < 3.8)
        return "unknown"
    try:
        return version("advland")
    except PackageNotFoundError:
        return "unknown"


#: The installed package's version (the advland executable's, as both come from one build).
__version__ = _version()

__all__ = [
    "BINARY_ENV",
    "SCHEMA_VERSION",
    "AdvlandError",
    "Attack",
    "Axis",
    "BoundReport",
    "CompareReport",
    "ConnectivityReport",
    "Cost",
    "CosineStats",
    "DataSubset",
    "Distribution",
    "Epoch",
    "EvalReport",
    "EvalResult",
    "FlatnessReport",
    "Grid",
    "LossCurve",
    "Meta",
    "Metrics",
    "ObjectiveInfo",
    "PerturbationReport",
    "RelateReport",
    "Report",
    "RobustMetrics",
    "SharpnessReport",
    "SurfaceReport",
    "TrainReport",
    "__version__",
    "call",
    "find_binary",
    "load",
    "load_grid",
    "run",
]
