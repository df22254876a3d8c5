"""Signature files: exact round trip, corrupted files fail with one clear line, resumable shards."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from routesig.errors import RoutesigError
from routesig.signatures.store import ShardWriter, Signatures, load_signatures, save_signatures, to_table

MD = {"num_layers": 2, "num_experts": 4, "top_k": 2, "moe_layers": [1, 3], "model": "m"}


def _sig(ids=("a", "b", "c"), seed=0, generated=False) -> Signatures:
    rng = np.random.default_rng(seed)
    n = len(ids)
    n_tokens = rng.integers(1, 6, n)
    counts = np.zeros((n, 2, 4), dtype=np.int64)
    for i in range(n):  # each token picks 2 distinct experts per layer
        for layer in range(2):
            for _ in range(n_tokens[i]):
                counts[i, layer, rng.choice(4, 2, replace=False)] += 1
    gen = None
    if generated:
        gen = {
            "counts": counts[:, :, ::-1].copy(),
            "weights": rng.random((n, 2, 4)).astype(np.float32),
            "n_tokens": n_tokens,
            "texts": [f"gen {i}" for i in ids],
        }
    return Signatures(
        counts=counts,
        weights=rng.random((n, 2, 4)).astype(np.float32),
        n_tokens=n_tokens,
        ids=list(ids),
        categories=["x", None, "y"][:n],
        texts=[f"text {i}" for i in ids],
        metadata=dict(MD),
        truncated=np.arange(n) % 2 == 0,
        generated=gen,
    )


def test_round_trip_is_exact(tmp_path):
    sig = _sig(generated=True)
    back = load_signatures(save_signatures(sig, tmp_path / "s.parquet"))
    np.testing.assert_array_equal(back.counts, sig.counts)
    np.testing.assert_array_equal(back.weights, sig.weights)
    np.testing.assert_array_equal(back.n_tokens, sig.n_tokens)
    np.testing.assert_array_equal(back.truncated, sig.truncated)
    assert (back.ids, back.categories, back.texts) == (sig.ids, sig.categories, sig.texts)
    assert back.metadata["moe_layers"] == [1, 3] and back.metadata["model"] == "m"
    np.testing.assert_array_equal(back.generated["counts"], sig.generated["counts"])
    assert back.generated["texts"] == sig.generated["texts"]
    # frequency rows sum to top_k per layer (every token picks exactly top_k experts)
    freq = back.vectors("frequency").reshape(3, 2, 4)
    np.testing.assert_allclose(freq.sum(2), 2.0)


def test_corrupted_files(tmp_path):
    good = save_signatures(_sig(), tmp_path / "good.parquet")
    (tmp_path / "garbage.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "cut.parquet").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    pq.write_table(pa.table({"id": ["a"]}), tmp_path / "plain.parquet")
    for name, message in [
        ("missing.parquet", "signature file not found"),
        ("garbage.parquet", "is not a readable Parquet file"),
        ("cut.parquet", "is not a readable Parquet file"),
        ("plain.parquet", "has no routesig metadata"),
    ]:
        with pytest.raises(RoutesigError, match=message) as err:
            load_signatures(tmp_path / name)
        assert "\n" not in str(err.value)
    with pytest.raises(RoutesigError, match="is a directory"):
        load_signatures(tmp_path)


def test_row_of_wrong_width_and_impossible_counts(tmp_path):
    table = to_table(_sig())
    short = pa.array([[1] * 8, [1] * 7, [1] * 8], type=pa.list_(pa.int32()))
    pq.write_table(
        table.set_column(table.schema.get_field_index("counts"), "counts", short), tmp_path / "w.parquet"
    )
    with pytest.raises(RoutesigError, match=r"row 1 of 'counts' has 7 values but .* = 8"):
        load_signatures(tmp_path / "w.parquet")
    sig = _sig()
    sig.counts[0, 0, 0] += 2 * int(sig.n_tokens[0]) + 1
    with pytest.raises(RoutesigError, match=r"counts exceed n_tokens x top_k \(2\)"):
        Signatures(sig.counts, sig.weights, sig.n_tokens, sig.ids, sig.categories, sig.texts, dict(MD))


def test_shard_writer_resumes_and_merges_in_prompt_order(tmp_path):
    out = tmp_path / "s.parquet"
    settings = {"model": "m", "dtype": "float32"}
    w = ShardWriter(out, settings)
    whole = _sig(ids=("a", "b", "c"))
    w.write(whole.subset([2]))
    w.write(whole.subset([0]))
    assert ShardWriter(out, settings).done_ids() == {"a", "c"}  # a new writer (a rerun) sees them
    assert not out.exists()
    with pytest.raises(RoutesigError, match="1 prompts have no stored result; rerun to resume"):
        w.finalize(["a", "b", "c"], MD)
    w.write(whole.subset([1, 0]))  # "a" redone after a kill: it must still appear once
    merged = load_signatures(w.finalize(["a", "b", "c"], MD))
    assert merged.ids == ["a", "b", "c"] and not w.dir.exists()
    np.testing.assert_array_equal(merged.counts, whole.counts)


def test_shard_writer_refuses_other_settings(tmp_path):
    ShardWriter(tmp_path / "s.parquet", {"model": "m", "dtype": "float32"})
    with pytest.raises(RoutesigError, match=r"other settings \(dtype\).*delete .*s.parquet.partial"):
        ShardWriter(tmp_path / "s.parquet", {"model": "m", "dtype": "bfloat16"})
