"""Top-level verbs: init, state, next, focus, history, merge, archive, doctor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from sdlc.cli import output as out


def root_options(
    root: Annotated[
        str | None, typer.Option("--root", help="Project root (env SDLC_ROOT).", show_default=False)
    ] = None,
    json_flag: Annotated[
        bool, typer.Option("--json", "-j", help="Print one JSON document on stdout.")
    ] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """The feature lifecycle engine."""
    # The entry point has already taken both out of the arguments (they are global).


def init(
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="Add a platform preset (masquerade, rdev).", show_default=False),
    ] = None,
    agents: Annotated[
        list[str] | None,
        typer.Option(
            "--agents",
            help="Also install the command files of these agents (comma-separated or repeatable): "
            "claude, opencode, gemini, cursor, copilot, codex.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create the sdlc layout and the Claude Code commands in the project root (idempotent)."""
    from sdlc.ops.init import init_project

    result = init_project(out.init_root(), agents, platform)

    def text(r: dict[str, Any]) -> str:
        changes = [f"\n  created {p}" for p in r["created"]] + [f"\n  updated {p}" for p in r["updated"]]
        changes += [f"\n  kept {k['path']}: {k['reason']}" for k in r["kept"]]
        preset = r["platform"]
        if preset is not None:
            changes += [f"\n  platform command kept as configured: {n}" for n in preset["commands_kept"]]
        if r["created"] or r["updated"]:
            head = f"Initialized sdlc in {r['root']}"
        else:
            head = f"Already initialized: {r['root']}"
        if preset is not None:
            added = ", ".join(preset["commands_added"]) or "none new"
            head += f"\nplatform {preset['name']}: commands {added}"
        return head + "".join(changes)

    out.emit(result, text)


def state() -> None:
    """Project summary: active features, blocked, milestones."""
    from sdlc.ops.queries import state_view

    view, warnings = state_view(out.store())
    out.warnings(warnings)

    def text(v: dict[str, Any]) -> str:
        lines = [f"Project: {v['project']}", f"Active features: {len(v['active_features'])}"]
        lines += [f"  {a['feature']}  {a['phase']}  {a['action']}" for a in v["active_features"]]
        lines.append(f"Blocked: {len(v['blocked'])}" if v["blocked"] else "No blocked features")
        lines += [f"  {b['feature']}: {b['reason']}" for b in v["blocked"]]
        lines += [f"Milestone {m['slug']}: {m['status']}" for m in v["milestones"]]
        return "\n".join(lines)

    out.emit(view, text)


def next_(
    for_: Annotated[str | None, typer.Option("--for", help="Classify one feature.")] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say why each rule did or did not match.")
    ] = False,
) -> None:
    """What to do next, for one feature or for every active one."""
    if for_ is not None:
        store = out.store()
        if explain:
            from sdlc.classifier import explain as explain_rules

            feature = store.load_feature(for_)
            result, trace = explain_rules(
                feature, store.config, store.file_hashes(feature), store.dependency_states(feature)
            )
            data = {**result.to_dict(), "explain": [t.__dict__ for t in trace]}
            out.emit(
                data,
                lambda d: (
                    out.classification_text(d)
                    + "".join(
                        f"\n  {'✔' if t['matched'] else '·'} {t['rule']}: {t['reason']}" for t in d["explain"]
                    )
                ),
            )
            return
        from sdlc.ops.lookup import next_for

        out.emit(next_for(store, for_), out.classification_text)
        return
    from sdlc.ops.queries import next_all

    rows, warnings = next_all(out.store())
    out.warnings(warnings)
    out.emit(rows, lambda r: "\n".join(map(out.classification_text, r)) or "No active features")


def focus(
    include_human: Annotated[bool, typer.Option("--include-human", help="Also human actions.")] = False,
) -> None:
    """The single most urgent item an agent can act on."""
    from sdlc.ops.queries import focus as pick

    item, warnings = pick(out.store(), include_human)
    out.warnings(warnings)
    out.emit(item, lambda c: out.classification_text(c) if c else "Nothing to do")


def history(
    for_: Annotated[str | None, typer.Option("--for", help="Only this feature.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many events.")] = 20,
) -> None:
    """Recent events from .sdlc/events.jsonl."""
    from sdlc.ops.queries import history as recent

    rows = recent(out.store(), for_, limit)
    out.emit(
        rows,
        lambda r: (
            out.table([(e["id"], e["ts"], e["actor"], e.get("feature"), e["type"]) for e in r]) or "No events"
        ),
    )


def merge(slug: Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]) -> None:
    """Record the merge of a feature in merge: moves it to released."""
    from sdlc.ops.features import merge_feature

    result = merge_feature(out.store(), out.actor(), slug)
    out.emit(result, f"Merged '{slug}': released" + out.hops_line(result))


def archive(slug: Annotated[str, typer.Argument(help="Feature slug.", metavar="SLUG")]) -> None:
    """Archive a feature (alias of `feature archive`)."""
    from sdlc.ops.features import set_archived

    result = set_archived(out.store(), out.actor(), slug, True)
    out.emit(result, f"Archived feature '{slug}'")


def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Rebuild state.yaml from the manifests.")] = False,
) -> None:
    """Check every file; exit 1 when problems remain."""
    from sdlc.ops.doctor import doctor as check

    result = check(out.store(), fix)
    lines = [f"fixed: {p['path']}: {p['message']}" for p in result["fixed"]]
    lines += [f"{p['path']}: {p['message']}" for p in result["problems"]]
    out.emit(result, "\n".join(lines) or "No problems found")
    if result["problems"]:
        raise typer.Exit(1)


COMMANDS: dict[str, Callable[..., None]] = {
    "init": init,
    "state": state,
    "next": next_,
    "focus": focus,
    "history": history,
    "merge": merge,
    "archive": archive,
    "doctor": doctor,
}


def register(app: typer.Typer, name: str) -> None:
    app.command(name)(COMMANDS[name])
