"""`routesig report DIR` from the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from routesig.cli import app


def test_report_command_writes_page(analysis_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "an"
    shutil.copytree(analysis_dir, d)
    result = CliRunner().invoke(app, ["report", str(d), "--no-figures"])
    assert result.exit_code == 0, result.output
    assert f"wrote {d / 'report.html'}" in result.output
    assert (d / "report.html").stat().st_size > 1_000_000  # plotly.js is inside
    assert not (d / "figures").exists()


def test_report_command_bad_dir_is_one_line_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: analysis directory not found")
    assert "Traceback" not in result.output
