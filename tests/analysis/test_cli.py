"""`routesig analyze` through the CLI: results, and one-line errors (exit 2) for bad files."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import routesig
from routesig.cli import app
from routesig.signatures.store import META_KEY, to_table

FAST = [
    "--folds",
    "3",
    "--permutations",
    "20",
    "--probe-permutations",
    "0",
    "--bootstrap",
    "0",
    "--probe-bootstrap",
    "0",
    "--no-tsne",
]


def run(*args):
    return CliRunner().invoke(app, ["analyze", *map(str, args), *FAST])


def one_line_error(result, needle):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and needle in lines[-1], result.output
    assert "Traceback" not in result.output


def test_analyze_writes_summary(planted, tmp_path):
    routesig.save_signatures(planted, tmp_path / "s.parquet")
    result = run(tmp_path / "s.parquet", "--out", tmp_path / "out", "--layers", "0-1")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["settings"]["layers"] == [0, 1] and "probe 100.0%" in result.output


def test_train_test_form(planted, tmp_path):
    routesig.save_signatures(planted, tmp_path / "a.parquet")
    routesig.save_signatures(planted.subset(np.arange(0, 80, 2)), tmp_path / "b.parquet")
    result = run("--train", tmp_path / "a.parquet", "--test", tmp_path / "b.parquet", "--out", tmp_path / "o")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["heldout"]["test"].endswith("b.parquet") and summary["heldout"]["n_test"] == 40


def test_no_categories(hand4, tmp_path):
    hand4.categories = [None] * 4
    routesig.save_signatures(hand4, tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o"), "have no category")


def test_one_category(hand4, tmp_path):
    hand4.categories = ["a"] * 4
    routesig.save_signatures(hand4, tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o"), "only one category")


def test_too_few_per_category(hand4, tmp_path):
    routesig.save_signatures(hand4, tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o"), "fewer than 3 prompts")


def test_nan_weights(planted, tmp_path):
    table = to_table(planted)
    weights = table["weights"].combine_chunks()
    values = weights.flatten().to_numpy(zero_copy_only=False).copy()
    values[5] = np.nan
    bad = pa.ListArray.from_arrays(weights.offsets, pa.array(values, type=pa.float32()))
    table = table.set_column(table.schema.get_field_index("weights"), table.schema.field("weights"), bad)
    pq.write_table(table, tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o"), "NaN")


def test_metadata_disagrees_with_counts(planted, tmp_path):
    table = to_table(planted)
    md = json.loads(table.schema.metadata[META_KEY])
    md["num_experts"] = 16
    pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(md)}), tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o"), "num_layers x num_experts")


@pytest.mark.parametrize("key, value", [("model", "other/model"), ("top_k", 4)])
def test_heldout_from_another_model(planted, tmp_path, key, value):
    routesig.save_signatures(planted, tmp_path / "a.parquet")
    other = planted.subset(np.arange(40))
    other.metadata[key] = value
    routesig.save_signatures(other, tmp_path / "b.parquet")
    one_line_error(
        run(tmp_path / "a.parquet", "--heldout", tmp_path / "b.parquet", "--out", tmp_path / "o"),
        f"differ in {key}",
    )


def test_missing_file(tmp_path):
    one_line_error(run(tmp_path / "nope.parquet", "--out", tmp_path / "o"), "not found")


def test_bad_layers_and_variant(planted, tmp_path):
    routesig.save_signatures(planted, tmp_path / "s.parquet")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o", "--layers", "x"), "--layers")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o", "--layers", "7"), "out of range")
    one_line_error(run(tmp_path / "s.parquet", "--out", tmp_path / "o", "--variant", "foo"), "variant")
