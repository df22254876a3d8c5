"""routesig: routing signatures of sparse Mixture-of-Experts transformers.

The package follows the flow of data:

- :mod:`routesig.capture`    model + prompts -> experts each token really used
- :mod:`routesig.signatures` per-prompt routing signatures, stored as Parquet
- :mod:`routesig.analysis`   similarity, probes, baselines, layer-wise, projections, controls
- :mod:`routesig.report`     figures, a self-contained HTML page, summary JSON

Heavy dependencies (torch, transformers, scikit-learn) are imported lazily, so ``import routesig`` is cheap.
"""

from __future__ import annotations

from typing import Any

from routesig._version import __version__
from routesig.errors import RoutesigError
from routesig.signatures.store import Signatures, load_signatures, save_signatures

__all__ = [
    "RoutesigError",
    "Signatures",
    "__version__",
    "analyze",
    "build_report",
    "capture",
    "load_signatures",
    "load_traces",
    "run",
    "save_signatures",
]


def capture(*args: Any, **kwargs: Any):  # noqa: ANN201 - documented in routesig.capture.engine.capture
    """Capture routing signatures; see :func:`routesig.capture.engine.capture`."""
    from routesig.capture.engine import capture as _capture

    return _capture(*args, **kwargs)


def load_traces(*args: Any, **kwargs: Any):  # noqa: ANN201
    """Read per-token traces (``capture --traces``); see :func:`routesig.capture.traces.load_traces`."""
    from routesig.capture.traces import load_traces as _load_traces

    return _load_traces(*args, **kwargs)


def analyze(*args: Any, **kwargs: Any):  # noqa: ANN201
    """Analyse a signature file; see :func:`routesig.analysis.pipeline.analyze`."""
    from routesig.analysis.pipeline import analyze as _analyze

    return _analyze(*args, **kwargs)


def build_report(*args: Any, **kwargs: Any):  # noqa: ANN201
    """Build figures and report.html; see :func:`routesig.report.build.build_report`."""
    from routesig.report.build import build_report as _build_report

    return _build_report(*args, **kwargs)


def run(*args: Any, **kwargs: Any):  # noqa: ANN201
    """Capture + analyse + report in one go; see :func:`routesig.pipeline.run`."""
    from routesig.pipeline import run as _run

    return _run(*args, **kwargs)
