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
) -> None:
    """Capture the experts each token used and write one routing signature per prompt."""
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
        progress=True,
    )
    typer.echo(f"wrote {path}")


@app.command()
@_user_errors
def archs() -> None:
    """List the supported MoE architectures and where routesig reads their routing."""
    from routesig.capture.archs import ARCHS

    for name in sorted(ARCHS):
        spec = ARCHS[name]
        typer.echo(f"{name:<16} {spec.block}.{spec.hook:<22} {spec.notes}")


@app.command()
@_user_errors
def suites() -> None:
    """List the bundled prompt suites (usable wherever a prompt file is)."""
    from routesig.data import list_suites

    for name, info in list_suites().items():
        cats = ", ".join(f"{c} {n}" for c, n in info["categories"].items())
        typer.echo(f"{name:<10} {info['n_prompts']:>4} prompts ({cats})  {info['description']}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
