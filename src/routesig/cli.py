"""The ``routesig`` command line: a thin layer over the Python API.

Each command parses flags and calls one library function; user errors (:class:`RoutesigError`) are printed
as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any

import typer

from routesig.errors import RoutesigError

app = typer.Typer(
    name="routesig",
    help="Routing signatures of sparse Mixture-of-Experts transformers: capture, analyze, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print RoutesigError (and a few predictable OS errors) as one line, exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RoutesigError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted: rerun the same command to resume", err=True)
            raise typer.Exit(130) from None
        except MemoryError:
            typer.echo("error: out of memory: lower --batch-size or --max-tokens", err=True)
            raise typer.Exit(2) from None

    return wrapper


# -- capture ---------------------------------------------------------------------------------------
@app.command()
@_user_errors
def capture(
    model: Annotated[str, typer.Option("--model", "-m", help="Hub id or local folder of a transformers MoE model.")],
    prompts: Annotated[str, typer.Option("--prompts", "-p", help="JSONL, CSV, Parquet, text file, or suite name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Signature file to write (.parquet).")],
    batch_size: Annotated[int, typer.Option(help="Prompts per forward pass.")] = 8,
    dtype: Annotated[str, typer.Option(help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16, float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, mps.")] = "auto",
    max_tokens: Annotated[int, typer.Option(help="Truncate longer prompts to this many tokens.")] = 1024,
    chat_template: Annotated[bool, typer.Option("--chat-template", help="Apply the tokenizer's chat template.")] = False,
    generate: Annotated[int, typer.Option(help="Also decode N tokens greedily; their routing is stored apart.")] = 0,
    traces: Annotated[bool, typer.Option("--traces", help="Also write per-token experts ([n_tokens, L, k]).")] = False,
    text_column: Annotated[str, typer.Option(help="Column / JSON field holding the prompt text.")] = "text",
    category_column: Annotated[str, typer.Option(help="Column holding the task label (optional).")] = "category",
    id_column: Annotated[str, typer.Option(help="Column holding a unique prompt id (optional).")] = "id",
    revision: Annotated[str | None, typer.Option(help="Model revision (branch, tag or commit).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Run the model repo's own code.")] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow non-safetensors (pickle) weights. Unsafe for untrusted models.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Capture again even if --out holds a complete capture.")
    ] = False,
) -> None:
    """Capture the experts each token used and write one routing signature per prompt.

    A killed run resumes when rerun with the same command; a finished one is left as is unless --overwrite.
    """
    from routesig.capture.engine import capture as _capture

    path = _capture(
        model=model,
        prompts=prompts,
        out=out,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        max_tokens=max_tokens,
        chat_template=chat_template,
        generate=generate,
        traces=traces,
        text_column=text_column,
        category_column=category_column,
        id_column=id_column,
        revision=revision,
        trust_remote_code=trust_remote_code,
        allow_pickle=allow_pickle,
        overwrite=overwrite,
        progress=True,
    )
    typer.echo(f"wrote {path}")

# -- analyze ---------------------------------------------------------------------------------------
@app.command()
@_user_errors
def analyze(
    signatures: Annotated[Path | None, typer.Argument(help="Signature file from `routesig capture`.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for summary.json and CSV tables.")] = Path(
        "routesig-out/analysis"
    ),
    heldout: Annotated[Path | None, typer.Option(help="Capture to score the probe on (held out).")] = None,
    train: Annotated[Path | None, typer.Option(help="Same as SIGNATURES (with --test).")] = None,
    test: Annotated[Path | None, typer.Option(help="Same as --heldout (with --train).")] = None,
    variant: Annotated[str, typer.Option(help="frequency, gate or binary signature vectors.")] = "frequency",
    layers: Annotated[str | None, typer.Option(help="MoE layer positions, e.g. '0,1,2' or '8-15'.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random step.")] = 0,
    folds: Annotated[int, typer.Option(help="Stratified cross-validation folds.")] = 5,
    repeats: Annotated[int, typer.Option(help="Repeats of the k-fold split.")] = 1,
    permutations: Annotated[int, typer.Option(help="Label permutations, similarity null.")] = 1000,
    probe_permutations: Annotated[int, typer.Option(help="Label permutations, probe null.")] = 100,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples, similarity CIs.")] = 1000,
    probe_bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples, probe CI.")] = 100,
    tsne: Annotated[bool, typer.Option("--tsne/--no-tsne", help="Compute the t-SNE projection.")] = True,
    lexical_features: Annotated[str, typer.Option(help="counts or tfidf (lexical control).")] = "counts",
) -> None:
    """Do prompts of one category route alike? Similarity, probe, baselines, layers, controls, CIs."""
    from routesig.analysis.inputs import parse_layers
    from routesig.analysis.pipeline import analyze as _analyze

    if train is not None and signatures is not None and train != signatures:
        raise RoutesigError("give the training file once: either as SIGNATURES or as --train")
    if heldout is not None and test is not None and heldout != test:
        raise RoutesigError("give the held-out file once: either --heldout or --test")
    source = signatures or train
    if source is None:
        raise RoutesigError("no signature file: run `routesig analyze SIG.parquet --out DIR`")
    summary = _analyze(
        source,
        out=out,
        heldout=heldout or test,
        progress=True,
        variant=variant,
        layers=parse_layers(layers),
        seed=seed,
        folds=folds,
        repeats=repeats,
        permutations=permutations,
        probe_permutations=probe_permutations,
        bootstrap=bootstrap,
        probe_bootstrap=probe_bootstrap,
        tsne=tsne,
        lexical_features=lexical_features,
    )
    sim, probe = summary["similarity"], summary["probe"]
    typer.echo(
        f"within {sim['within']['mean']:.4f} ± {sim['within']['std']:.4f}, across {sim['across']['mean']:.4f}"
        f" ± {sim['across']['std']:.4f}, d {sim['cohens_d']:.2f}; probe {probe['accuracy']['mean']:.1%}"
        f" ± {probe['accuracy']['std']:.1%} (chance {probe['chance']:.1%})"
        f"; peak layer {summary['peak_layer']}"
    )
    typer.echo(f"wrote {out / 'summary.json'}")


@app.command()
@_user_errors
def run(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model; default: the bundled demo model.")] = None,
    prompts: Annotated[
        str | None, typer.Option("--prompts", "-p", help="Prompt file or suite; default: the `core` suite.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder; default ./routesig-out.")] = None,
    heldout: Annotated[
        str | None, typer.Option(help="Held-out prompts (file or suite) to test the probe on; default `heldout` with the default suite.")
    ] = None,
    per_category: Annotated[
        int | None, typer.Option(help="Use only the first N prompts of each category (quick runs).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Prompts per forward pass.")] = 8,
    dtype: Annotated[str, typer.Option(help="auto, float32, bfloat16, float16.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N, mps.")] = "auto",
    max_tokens: Annotated[int, typer.Option(help="Truncate longer prompts to this many tokens.")] = 1024,
    chat_template: Annotated[bool, typer.Option("--chat-template", help="Apply the tokenizer's chat template.")] = False,
    seed: Annotated[int, typer.Option(help="Seed for every random step of the analysis.")] = 0,
    permutations: Annotated[int, typer.Option(help="Label permutations for the null distribution.")] = 1000,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the 95% intervals.")] = 1000,
) -> None:
    """Capture + analyze + report in one go (no arguments: the demo model on the bundled suites)."""
    from routesig.pipeline import headline
    from routesig.pipeline import run as _run

    summary = _run(
        model=model,
        prompts=prompts,
        out=out,
        heldout=heldout,
        per_category=per_category,
        batch_size=batch_size,
        dtype=dtype,
        device=device,
        max_tokens=max_tokens,
        chat_template=chat_template,
        seed=seed,
        permutations=permutations,
        bootstrap=bootstrap,
    )
    typer.echo(headline(summary))


@app.command()
@_user_errors
def archs() -> None:
    """List the supported MoE architectures and where routesig reads their routing."""
    from routesig.capture.archs import ARCHS, supported_archs

    typer.echo(f"{'model_type':<18} {'hook point':<42} notes")
    for name in supported_archs():
        typer.echo(f"{name:<18} {ARCHS[name].hook_point:<42} {ARCHS[name].notes}")


@app.command()
@_user_errors
def suites() -> None:
    """List the bundled prompt suites (usable wherever a prompt file is)."""
    from routesig.data import list_suites

    for name, info in list_suites().items():
        cats = ", ".join(f"{c} {n}" for c, n in info["categories"].items())
        typer.echo(f"{name:<10} {info['n_prompts']:>4} prompts ({cats})  {info['description']}")


@app.command()
@_user_errors
def report(
    directory: Annotated[Path, typer.Argument(help="The --out directory of `routesig analyze`.")],
    figures: Annotated[
        bool, typer.Option("--figures/--no-figures", help="Also write figures/*.png and *.svg.")
    ] = True,
) -> None:
    """Write DIR/report.html (one self-contained interactive page) and DIR/figures/ (PNG + SVG for papers)."""
    from routesig.report.build import build_report

    path = build_report(directory, figures=figures)
    typer.echo(f"wrote {path}")
    if figures:
        typer.echo(f"wrote {path.parent / 'figures'}/")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
