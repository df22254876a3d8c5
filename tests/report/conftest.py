"""Analysis directories for the report tests, made by the real ``routesig.analyze`` on synthetic data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import routesig
from report.report_data import ANALYSIS_SETTINGS, planted_signatures
from routesig import save_signatures


@pytest.fixture(scope="session")
def analysis_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete analysis directory (no report yet) from the real analysis."""
    root = tmp_path_factory.mktemp("analysis")
    sig = save_signatures(planted_signatures(), root / "sig.parquet")
    routesig.analyze(sig, out=root / "analysis", **ANALYSIS_SETTINGS)
    return root / "analysis"


@pytest.fixture(scope="session")
def report_dir(analysis_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``analysis_dir`` with report.html and figures/ built."""
    d = tmp_path_factory.mktemp("report") / "analysis"
    shutil.copytree(analysis_dir, d)
    routesig.build_report(d)
    return d


@pytest.fixture(scope="session")
def minimal_dir(analysis_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The analysis with every optional part absent (no t-SNE/UMAP, held-out, experts, bootstrap, matrix,
    histograms, expert usage, prompts.csv: hover texts then come from the signature file); report built."""
    d = tmp_path_factory.mktemp("minimal") / "analysis"
    shutil.copytree(analysis_dir, d)
    summary = json.loads((d / "summary.json").read_text())
    summary["projections"]["tsne"] = None
    summary["heldout"] = None
    for key in ("experts", "bootstrap", "cumulative"):
        summary.pop(key)
    summary["similarity"].pop("matrix")
    summary["similarity"].pop("hist")
    summary["probe"].pop("per_class")
    summary["baselines"]["permutation"].pop("null_accuracy")
    (d / "summary.json").write_text(json.dumps(summary))
    proj = pd.read_csv(d / "projections.csv")
    proj[["tsne_1", "tsne_2"]] = np.nan
    proj.to_csv(d / "projections.csv", index=False)
    for name in ("expert_usage.csv", "prompts.csv"):
        (d / name).unlink()
    routesig.build_report(d)
    return d
