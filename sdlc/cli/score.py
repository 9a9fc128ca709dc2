"""`sdlc score ...`"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sdlc.cli import output as out

HELP = "Quality scores per lens; the newest per lens counts against the thresholds."
app = typer.Typer()
Slug = Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]


@app.command("set")
def set_(
    slug: Slug,
    lens: Annotated[str, typer.Option("--lens", help="e.g. implementation")],
    value: Annotated[int, typer.Option("--value", help="0..100")],
    evaluator: Annotated[str | None, typer.Option("--evaluator", help="Who scored it.")] = None,
) -> None:
    """Record a score for one lens."""
    from sdlc.ops.scores import set_score

    result = set_score(out.store(), out.actor(evaluator), slug, lens, value, evaluator)
    out.emit(result, f"Scored '{slug}' {lens}={value}" + out.hops_line(result))


@app.command("show")
def show(slug: Slug) -> None:
    """The counted score per lens and the thresholds."""
    from sdlc.ops.scores import show_scores

    def text(d: dict[str, Any]) -> str:
        head = f"thresholds: advance {d['min_score_to_advance']}, release {d['min_score_to_release']}"
        rows = [f"  {r['lens']}: {'none' if r['score'] is None else r['score']}" for r in d["lenses"]]
        return "\n".join([head, *rows]) if rows else head + "\n  no scores"

    out.emit(show_scores(out.store(), slug), text)


@app.command("history")
def history(slug: Slug) -> None:
    """Every score recorded, oldest first."""
    from sdlc.ops.scores import score_history

    rows = score_history(out.store(), slug)
    out.emit(
        rows,
        lambda r: (
            out.table([(s["timestamp"], s["lens"], s["score"], s["evaluator"]) for s in r]) or "No scores"
        ),
    )
