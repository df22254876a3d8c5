"""Scale benchmark of `routesig analyze` (not a test): 100k prompts x 16 layers x 64 experts, top-8.

Run: ``python benchmarks/analysis_scale.py [--n 100000] [--tsne-n 10000]``. Prints wall time and peak
resident memory of (1) loading the Parquet file + the full analysis without t-SNE, in a fresh process so that
the peak is the analysis's own, and (2) the t-SNE step alone on 10k prompts. Targets on 2 CPU cores:
< 60 s and < 4 GB for (1).

Synthetic data: 4 categories; a prompt's selections per layer are multinomial(n_tokens x 8, p) with p
favouring 4 category-specific experts in the deeper layers, so the analysis has structure to find
(counts may occasionally exceed n_tokens for one expert, which the analysis does not need to hold).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

L, E, K = 16, 64, 8


def make_file(n: int, path: Path, seed: int = 0) -> None:
    import routesig

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    n_tokens = rng.integers(20, 200, n)
    counts = np.empty((n, L, E), dtype=np.int32)
    for c in range(4):
        p = np.ones((L, E))
        p[L // 2 :, 4 * c : 4 * c + 4] += 0.5  # category-specific experts in the second half of the layers
        p /= p.sum(axis=1, keepdims=True)
        rows = np.flatnonzero(y == c)
        counts[rows] = rng.multinomial(np.repeat(n_tokens[rows, None] * K, L, axis=1), p)
    names = ["code", "factual", "math", "story"]
    sig = routesig.Signatures(
        counts=counts,
        weights=counts.astype(np.float32) / K,
        n_tokens=n_tokens,
        ids=[f"p{i}" for i in range(n)],
        categories=[names[c] for c in y],
        texts=[f"{names[c]} prompt number {i}" for i, c in enumerate(y)],
        metadata={
            "num_layers": L,
            "num_experts": E,
            "top_k": K,
            "moe_layers": list(range(L)),
            "model": "synthetic",
        },
    )
    routesig.save_signatures(sig, path)


def run_analysis(path: str, out: str) -> None:
    """Child process: load + analyze without t-SNE; print timings and peak RSS as JSON."""
    import routesig

    t0 = time.perf_counter()
    sig = routesig.load_signatures(path)
    t1 = time.perf_counter()
    res = routesig.analyze(sig, out=out, tsne=False, progress=True)
    t2 = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 2**20  # KiB -> GiB (Linux)
    cpu = usage.ru_utime + usage.ru_stime  # the machine is shared: CPU seconds say what wall time cannot
    print(
        json.dumps(
            {
                "load_s": t1 - t0,
                "analyze_s": t2 - t1,
                "peak_gib": peak,
                "cpu_s": cpu,
                "within": res["similarity"]["within"],
                "across": res["similarity"]["across"],
                "cohens_d": res["similarity"]["cohens_d"],
                "probe": res["probe"]["accuracy"]["mean"],
                "peak_layer": res["peak_layer"],
            }
        )
    )


def tsne_bench(n: int) -> dict:
    """routesig's t-SNE step (Barnes-Hut on the top 50 principal components) on n unit-length signatures."""
    from routesig.analysis.projections import project

    rng = np.random.default_rng(0)
    X = rng.dirichlet(np.ones(E), size=(n, L)).reshape(n, -1)
    X[: n // 2, :64] += 0.05
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    t0 = time.perf_counter()
    summary, _ = project(X, seed=0, tsne=True)
    return {"tsne_n": n, "tsne_s": time.perf_counter() - t0, "method": summary["tsne"]["method"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--tsne-n", type=int, default=10_000)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_analysis(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sig.parquet"
        t0 = time.perf_counter()
        make_file(args.n, path)
        print(f"made {args.n} synthetic signatures in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        child = subprocess.run(
            [sys.executable, __file__, "--child", str(path), str(Path(tmp) / "out")],
            check=True,
            capture_output=True,
            text=True,
        )
        res = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"N={args.n} L={L} E={E}: load {res['load_s']:.1f} s, analysis (no t-SNE) {res['analyze_s']:.1f} s, "
        f"CPU (load + analysis) {res['cpu_s']:.1f} s, peak RSS {res['peak_gib']:.2f} GiB"
    )
    print(
        f"  within {res['within']['mean']:.4f} across {res['across']['mean']:.4f} d {res['cohens_d']:.2f} "
        f"probe {res['probe']:.3f} peak layer {res['peak_layer']}"
    )
    if args.tsne_n:
        t = tsne_bench(args.tsne_n)
        print(f"PCA + t-SNE ({t['method']}, 50 PCs) on {t['tsne_n']} x {L * E}: {t['tsne_s']:.1f} s")


if __name__ == "__main__":
    main()
