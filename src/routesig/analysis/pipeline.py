"""``analyze``: every analysis of one signature file, written as summary.json + CSV tables.

See docs/analysis-outputs.md for every key and column. Each part is cheap to rerun (seconds for hundreds of
prompts); a rerun with the same input and seed rewrites byte-identical files.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from routesig._version import __version__
from routesig.analysis import (
    baselines,
    bootstrap,
    controls,
    experts,
    layers,
    projections,
    sampling,
    similarity,
)
from routesig.analysis.inputs import labels_of, stratified_subsample, unit_vectors
from routesig.analysis.output import clean, write_outputs
from routesig.analysis.probe import cross_validate, fit_score
from routesig.errors import RoutesigError
from routesig.signatures.store import VARIANTS, Signatures, load_signatures


@dataclass(frozen=True)
class Settings:
    """Everything that changes a number of the analysis (recorded in summary.json ``settings``)."""

    variant: str = "frequency"
    layers: tuple[int, ...] | None = None
    seed: int = 0
    folds: int = 5
    repeats: int = 1
    permutations: int = 1000
    probe_permutations: int = 100
    bootstrap: int = 1000
    probe_bootstrap: int = 100
    max_probe_prompts: int = 500
    max_pair_prompts: int = 3000
    max_baseline_prompts: int = 5000
    tsne: bool = True
    tsne_perplexity: float | None = None
    lexical_features: str = "counts"

    def check(self) -> None:
        if self.variant not in VARIANTS:
            raise RoutesigError(
                f"unknown signature variant {self.variant!r}: use one of {', '.join(VARIANTS)}"
            )
        if self.folds < 2 or self.repeats < 1:
            raise RoutesigError("--folds must be at least 2 and --repeats at least 1")
        for name in ("permutations", "probe_permutations", "bootstrap", "probe_bootstrap"):
            if getattr(self, name) < 0:
                raise RoutesigError(f"--{name.replace('_', '-')} must be 0 or more")
        for name in ("max_probe_prompts", "max_pair_prompts", "max_baseline_prompts"):
            if getattr(self, name) < 10:
                raise RoutesigError(f"--{name.replace('_', '-')} must be at least 10")
        if self.tsne_perplexity is not None and self.tsne_perplexity <= 0:
            raise RoutesigError("--tsne-perplexity must be positive")


def _load(source: str | os.PathLike | Signatures, what: str) -> tuple[Signatures, str | None]:
    if isinstance(source, Signatures):
        return source, None
    if not isinstance(source, str | os.PathLike):
        raise RoutesigError(
            f"{what} must be a signature file path or a routesig.Signatures, got {type(source).__name__}"
        )
    return load_signatures(source), os.fspath(source)


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(f"analyze: {msg}", file=sys.stderr, flush=True)


def analyze(
    source: str | os.PathLike | Signatures,
    out: str | os.PathLike | None = None,
    heldout: str | os.PathLike | Signatures | None = None,
    progress: bool = False,
    **settings: Any,
) -> dict:
    """Analyse one signature file: similarity, probe, baselines, layers, projections, controls, experts, CIs.

    Parameters
    ----------
    source : path or Signatures
        A file written by ``routesig capture`` (or the object itself).
    out : path, optional
        Directory for ``summary.json`` and the CSV tables; nothing is written when omitted.
    heldout : path or Signatures, optional
        A second capture of the same model: the probe is fit on ``source`` and scored on it.
    progress : bool
        Report progress on stderr.
    **settings
        Fields of :class:`Settings` (``variant``, ``layers``, ``seed``, ``folds``, ``permutations``, ...).

    Returns
    -------
    dict
        The summary (the content of summary.json); see docs/analysis-outputs.md.

    Examples
    --------
    >>> import numpy as np, routesig
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.multinomial(40, [0.25] * 4, size=(12, 2))
    >>> counts[6:, :, 0] += 30                          # category b prefers expert 0
    >>> sig = routesig.Signatures(counts, counts.astype(float), counts.sum(-1)[:, 0] // 2 + 1,
    ...     [f"p{i}" for i in range(12)], ["a"] * 6 + ["b"] * 6, ["t"] * 12,
    ...     {"num_layers": 2, "num_experts": 4, "top_k": 2, "moe_layers": [0, 1]})
    >>> res = analyze(sig, folds=3, permutations=50, probe_permutations=0, bootstrap=0, probe_bootstrap=0,
    ...               tsne=False)
    >>> res["similarity"]["gap"] > 0, res["probe"]["accuracy"]["mean"]
    (True, 1.0)
    """
    unknown = set(settings) - set(Settings.__dataclass_fields__)
    if unknown:
        raise RoutesigError(
            f"unknown analysis setting(s) {', '.join(sorted(unknown))}: see routesig analyze --help"
        )
    if settings.get("layers") is not None:
        settings["layers"] = tuple(int(i) for i in settings["layers"])
    cfg = Settings(**settings)
    cfg.check()
    sig, path = _load(source, "source")
    y, names = labels_of(sig, cfg.folds)
    sel = list(cfg.layers) if cfg.layers is not None else None
    U = unit_vectors(sig, cfg.variant, sel)
    probe_rows = stratified_subsample(y, cfg.max_probe_prompts, cfg.seed)
    X = sig.subset(probe_rows).vectors(cfg.variant, sel)  # probe features: only the probe's prompts
    yp = y[probe_rows]
    summary: dict[str, Any] = {
        "routesig_version": __version__,
        "settings": {**asdict(cfg), "layers": sel},
        "input": {
            "path": path,
            "n_prompts": sig.n_prompts,
            "categories": {n: int(c) for n, c in zip(names, np.bincount(y), strict=True)},
            "metadata": sig.metadata,
        },
    }
    tables: dict[str, pd.DataFrame] = {}

    _say(progress, "similarity")
    summary["similarity"], tables_sim = _similarity(U, y, names, sig.ids, cfg)
    tables.update(tables_sim)

    _say(progress, "probe")
    probe = cross_validate(X, yp, names, cfg.folds, cfg.repeats, cfg.seed)
    summary["probe"] = probe
    tables["confusion"] = pd.DataFrame(probe["confusion"]["matrix"], columns=names).assign(true=names)[
        ["true", *names]
    ]
    tables["per_class"] = pd.DataFrame([{"category": n, **v} for n, v in probe["per_class"].items()])

    _say(progress, "baselines")
    summary["baselines"] = _baselines(sig, U, X, y, names, probe_rows, cfg, progress)

    _say(progress, "layers")
    depth = layers.layerwise(
        sig, y, names, cfg.variant, cfg.folds, cfg.seed, probe_rows, cfg.max_pair_prompts, progress
    )
    summary.update(depth)
    tables["layers"] = pd.DataFrame(depth["layers"])
    tables["cumulative"] = pd.DataFrame(depth["cumulative"])

    _say(progress, "projections")
    summary["projections"], coords = projections.project(U, cfg.seed, cfg.tsne, cfg.tsne_perplexity)
    proj = pd.DataFrame({"id": sig.ids, "category": sig.categories})
    for col in ("pca_1", "pca_2", "tsne_1", "tsne_2", "umap_1", "umap_2"):
        proj[col] = coords.get(col, np.full(sig.n_prompts, np.nan))
    tables["projections"] = proj

    _say(progress, "controls")
    summary["controls"], make_lex, texts = _controls(sig, y, names, probe_rows, cfg)
    summary["heldout"] = _heldout(sig, path, heldout, X, yp, texts, names, sel, cfg, make_lex)

    _say(progress, "experts")
    summary["experts"], expert_tables = experts.expert_tables(sig, y, names)
    tables.update(expert_tables)

    _say(progress, "bootstrap")
    summary["bootstrap"] = _bootstrap(U, X, y, yp, cfg, progress)

    tables["prompts"] = pd.DataFrame(
        {
            "id": sig.ids,
            "category": sig.categories,
            "n_tokens": sig.n_tokens,
            "text": [t[:200] for t in sig.texts],
        }
    )
    summary = clean(summary)
    if out is not None:
        write_outputs(out, summary, tables)
    return summary


def _similarity(
    U: np.ndarray, y: np.ndarray, names: list[str], ids: Sequence[str], cfg: Settings
) -> tuple[dict, dict]:
    C = len(names)
    stats = similarity.pair_stats(U, y)
    M = similarity.category_matrix(U, y, C)
    sims, nearest = similarity.nearest_category(U, y, C)
    recall = {n: float(np.mean(nearest[y == c] == c)) for c, n in enumerate(names)}
    stats.update(
        exact=True,
        matrix={"categories": names, "values": M.tolist()},
        nearest_category={"accuracy": float(np.mean(nearest == y)), "per_class": recall},
        hist=similarity.pair_histogram(U, y, cfg.seed, cfg.max_pair_prompts),
    )
    near = pd.DataFrame(
        {"id": list(ids), "category": [names[c] for c in y], "nearest": [names[c] for c in nearest]}
    )
    for c, n in enumerate(names):
        near[f"sim_{n}"] = sims[:, c]
    matrix = pd.DataFrame(M, columns=names).assign(category=names)[["category", *names]]
    return stats, {"similarity_matrix": matrix, "nearest_category": near}


def _baselines(
    sig: Signatures,
    U: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    names: list[str],
    probe_rows: np.ndarray,
    cfg: Settings,
    progress: bool,
) -> dict:
    perm = baselines.permutation_gap(U, y, cfg.permutations, cfg.seed, cfg.max_pair_prompts, progress)
    if cfg.probe_permutations:
        perm.update(
            baselines.permutation_probe(X, y[probe_rows], cfg.probe_permutations, cfg.folds, cfg.seed)
        )
    out = {"permutation": perm}
    rows = stratified_subsample(y, cfg.max_baseline_prompts, cfg.seed)
    sub = sig.subset(rows)
    k = baselines.infer_top_k(sig.counts, sig.n_tokens, sig.metadata)
    # gate weights cannot be simulated without a model, so the gate variant's baselines use frequencies
    variant = "frequency" if cfg.variant == "gate" else cfg.variant
    uniform = np.full((sig.num_layers, sig.num_experts), k / sig.num_experts)
    for seed_offset, (name, pi) in enumerate(
        (("load_balance", uniform), ("frequency_matched", baselines.inclusion_probabilities(sig.counts, k)))
    ):
        rng = np.random.default_rng([cfg.seed, seed_offset])
        sim = Signatures(
            sampling.simulate_counts(sub.n_tokens, pi, rng),
            np.zeros(sub.counts.shape, np.float32),
            sub.n_tokens,
            sub.ids,
            sub.categories,
            sub.texts,
            dict(sub.metadata),
        )
        sel = list(cfg.layers) if cfg.layers is not None else None
        ys = y[rows]
        Us = unit_vectors(sim, variant, sel)
        stats = similarity.pair_stats(Us, ys)
        stats["hist"] = similarity.pair_histogram(Us, ys, cfg.seed, cfg.max_pair_prompts)
        prows = stratified_subsample(ys, cfg.max_probe_prompts, cfg.seed)
        probe = cross_validate(
            sim.vectors(variant, sel)[prows], ys[prows], names, cfg.folds, cfg.repeats, cfg.seed, detail=False
        )
        out[name] = {
            "similarity": stats,
            "probe": probe,
            "n_prompts": int(len(rows)),
            "variant": variant,
            "top_k": k,
        }
    return out


def _controls(
    sig: Signatures, y: np.ndarray, names: list[str], rows: np.ndarray, cfg: Settings
) -> tuple[dict, Any, list[str]]:
    """Lexical and length probes on the probe's prompts; also returns the lexical factory and texts."""
    tokenize, tok_name = controls.text_tokenizer(sig.metadata.get("model"))
    make_lex = controls.lexical_probe_factory(tokenize, cfg.lexical_features)
    texts = [sig.texts[i] for i in rows]
    cv = dict(folds=cfg.folds, repeats=cfg.repeats, seed=cfg.seed, detail=False)
    lex = cross_validate(texts, y[rows], names, make=make_lex, **cv)
    length = cross_validate(sig.n_tokens[rows, None].astype(float), y[rows], names, **cv)
    vocab = len(make_lex()[0].fit(texts).vocabulary_)
    lexical = {
        "tokenizer": tok_name,
        "features": cfg.lexical_features,
        "vocabulary_size": vocab,
        "probe": lex,
    }
    return {"lexical": lexical, "length": {"probe": length}}, make_lex, texts


def _heldout(
    sig: Signatures,
    path: str | None,
    heldout: Any,
    X: np.ndarray,
    y: np.ndarray,
    texts: list[str],
    names: list[str],
    sel: list[int] | None,
    cfg: Settings,
    make_lex: Any,
) -> dict | None:
    if heldout is None:
        return None
    test, test_path = _load(heldout, "heldout")
    a, b = path or "the training signatures", test_path or "the held-out signatures"
    controls.check_same_layout(sig, test, a, b)
    yt = controls.heldout_labels(test, names, b)
    probe = fit_score(X, y, test.vectors(cfg.variant, sel), yt, names)
    lex = fit_score(texts, y, list(test.texts), yt, names, make=make_lex)
    return {
        "train": path,
        "test": test_path,
        "n_train": int(len(y)),
        "n_test": int(len(yt)),
        "probe": probe,
        "lexical": {"accuracy": lex["accuracy"], "macro_f1": lex["macro_f1"]},
    }


def _bootstrap(
    U: np.ndarray, X: np.ndarray, y: np.ndarray, yp: np.ndarray, cfg: Settings, progress: bool
) -> dict:
    out: dict[str, Any] = {"n": cfg.bootstrap}
    if cfg.bootstrap:
        out.update(bootstrap.similarity_ci(U, y, cfg.bootstrap, cfg.seed, cfg.max_pair_prompts))
    if cfg.probe_bootstrap:
        out.update(bootstrap.probe_ci(X, yp, cfg.probe_bootstrap, cfg.folds, cfg.seed, progress))
    return out
