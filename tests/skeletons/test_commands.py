"""The sdlc skeleton commands (spec/sdlc.md §8): fifteen sources rendered for every agent."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from skeletons.commands import AGENTS, command_names, command_prompt, render_commands
from skeletons.errors import SkeletonError
from skeletons.registry import get_template

NAMES = [
    "sdlc-next",
    "sdlc-status",
    "sdlc-approve",
    "sdlc-spec",
    "sdlc-design",
    "sdlc-tasks",
    "sdlc-qa-plan",
    "sdlc-implement",
    "sdlc-review",
    "sdlc-fix-review",
    "sdlc-audit",
    "sdlc-qa",
    "sdlc-fix-qa",
    "sdlc-merge",
    "sdlc-unblock",
]
READ_ONLY = {"sdlc-status", "sdlc-approve", "sdlc-unblock"}
PATHS = {
    "claude": ".claude/commands/{}.md",
    "opencode": ".opencode/commands/{}.md",
    "gemini": ".gemini/commands/{}.toml",
    "cursor": ".cursor/commands/{}.md",
    "copilot": ".github/prompts/{}.prompt.md",
}
FILE_AGENTS = [a for a in AGENTS if a != "codex"]


def front_matter(text: str) -> tuple[dict[str, object], str]:
    match = re.fullmatch(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, "no front matter"
    data = yaml.safe_load(match.group(1))
    assert isinstance(data, dict)
    return data, match.group(2).lstrip("\n")


def body(agent: str, name: str) -> str:
    """The Markdown body of a command file for `agent`."""
    text = render_commands(agent)[PATHS[agent].format(name)]
    if agent == "gemini":
        return str(tomllib.loads(text)["prompt"])
    if agent == "cursor":
        return text
    return front_matter(text)[1]


def order(text: str, *needles: str) -> list[int]:
    positions = [text.find(n) for n in needles]
    assert all(p >= 0 for p in positions), [n for n, p in zip(needles, positions, strict=True) if p < 0]
    return positions


def test_the_template_is_shipped_as_kind_commands() -> None:
    manifest = get_template("sdlc-commands").manifest
    assert (manifest.kind, manifest.version) == ("commands", "1.0.0")
    assert command_names() == NAMES


def test_agents() -> None:
    assert AGENTS == ("claude", "opencode", "gemini", "cursor", "copilot", "codex")


@pytest.mark.parametrize("agent", FILE_AGENTS)
def test_every_command_is_rendered_for_every_agent(agent: str) -> None:
    files = render_commands(agent)
    assert sorted(files) == sorted(PATHS[agent].format(n) for n in NAMES)
    for path, text in files.items():
        assert text.endswith("\n") and len(text) > 500, path


def test_codex_gets_the_command_list_for_the_agents_md_section() -> None:
    files = render_commands("codex")
    assert list(files) == ["AGENTS.md"]
    section = files["AGENTS.md"]
    assert "<!-- sdlc:begin -->" not in section and "<!-- sdlc:end -->" not in section
    for name in NAMES:
        assert f"- `{name}" in section
    assert section.index("`sdlc-tasks") < section.index("sdlc task add") < section.index("`sdlc-qa-plan")


@pytest.mark.parametrize("agent", AGENTS)
def test_no_jinja_is_left_but_gemini_args(agent: str) -> None:
    for path, text in render_commands(agent).items():
        rest = text.replace("{{args}}", "") if agent == "gemini" else text
        assert "{{" not in rest and "{%" not in rest and "{#" not in rest, path
        assert "}}" not in rest and "%}" not in rest, path


@pytest.mark.parametrize("agent", AGENTS)
def test_rendering_twice_is_identical(agent: str) -> None:
    assert render_commands(agent) == render_commands(agent)


def test_claude_front_matter() -> None:
    for name in NAMES:
        text = render_commands("claude")[f".claude/commands/{name}.md"]
        data, rest = front_matter(text)
        assert set(data) == {"description", "argument-hint", "allowed-tools"}, name
        assert all(isinstance(v, str) and v for v in data.values()), name
        assert "$ARGUMENTS" in rest
        tools = str(data["allowed-tools"])
        if name in READ_ONLY:
            assert "Write" not in tools and "Edit" not in tools, name
        else:
            assert "Write" in tools or "Bash" in tools.split(", "), name
    implement = front_matter(render_commands("claude")[".claude/commands/sdlc-implement.md"])[0]
    assert implement["argument-hint"] == "<slug> <task_id>"


def test_opencode_front_matter_builds_for_writers_and_plans_for_readers() -> None:
    for name in NAMES:
        data, rest = front_matter(render_commands("opencode")[f".opencode/commands/{name}.md"])
        assert set(data) == {"description", "agent"}, name
        assert data["agent"] == ("plan" if name in READ_ONLY else "build"), name
        assert "$ARGUMENTS" in rest


def test_copilot_front_matter() -> None:
    for name in NAMES:
        data, rest = front_matter(render_commands("copilot")[f".github/prompts/{name}.prompt.md"])
        assert isinstance(data["description"], str) and data["description"], name
        assert "${input:arguments:" in rest


def test_gemini_files_are_toml_and_keep_args() -> None:
    for name in NAMES:
        text = render_commands("gemini")[f".gemini/commands/{name}.toml"]
        data = tomllib.loads(text)
        assert set(data) == {"description", "prompt"}, name
        assert "{{args}}" in data["prompt"], name
        if name != "sdlc-next":  # sdlc-next names each agent's own command files
            assert data["prompt"] == body("claude", name).replace("$ARGUMENTS", "{{args}}"), name


def test_cursor_files_are_plain_markdown() -> None:
    for name in NAMES:
        text = render_commands("cursor")[f".cursor/commands/{name}.md"]
        assert not text.startswith("---") and text.startswith("# "), name


def test_unknown_agent() -> None:
    with pytest.raises(SkeletonError) as caught:
        render_commands("emacs")
    assert "emacs" in caught.value.message
    assert caught.value.hint is not None and all(a in caught.value.hint for a in AGENTS)


def test_command_prompt_substitutes_the_arguments() -> None:
    prompt = command_prompt("sdlc-implement", "auth T3")
    assert "Arguments: auth T3" in prompt
    assert "$ARGUMENTS" not in prompt and "{{" not in prompt
    assert command_prompt("sdlc-next", "") == command_prompt("sdlc-next", "  ")
    with pytest.raises(SkeletonError):
        command_prompt("sdlc-nope", "x")


@pytest.mark.parametrize("agent", FILE_AGENTS)
def test_every_writer_reads_the_classification_and_vision(agent: str) -> None:
    for name in NAMES:
        text = body(agent, name)
        assert "sdlc next" in text, name
        if name not in ("sdlc-next", "sdlc-status", "sdlc-approve", "sdlc-unblock"):
            assert "sdlc next --for <slug> --json" in text and "VISION.md" in text, name
            assert ".sdlc/features/<slug>/" in text, name


@pytest.mark.parametrize(
    ("name", "artifact", "reads"),
    [
        ("sdlc-spec", "spec", []),
        ("sdlc-design", "design", ["spec.md"]),
        ("sdlc-qa-plan", "qa_plan", ["spec.md", "design.md", "tasks.md"]),
        ("sdlc-audit", "audit", ["review.md"]),
    ],
)
def test_artifact_writers_record_a_draft(name: str, artifact: str, reads: list[str]) -> None:
    text = command_prompt(name, "auth")
    assert f"sdlc artifact draft <slug> {artifact}" in text
    assert "output_path" in text
    for earlier in reads:
        assert earlier in text


def test_sdlc_tasks_registers_tasks_then_dependencies_without_duplicates() -> None:
    text = command_prompt("sdlc-tasks", "auth")
    add, edit, draft = order(text, "sdlc task add", "sdlc task edit", "sdlc artifact draft <slug> tasks")
    assert add < edit < draft
    assert "--depends" in text and "sdlc task remove" in text
    assert "duplicate" in text


def test_sdlc_review_scores_every_lens_before_drafting() -> None:
    text = command_prompt("sdlc-review", "auth")
    scores = [m.start() for m in re.finditer(r"sdlc score set <slug> --lens \w+ --value", text)]
    assert len(scores) >= 3
    for lens in ("product_fit", "research_grounding", "implementation"):
        assert f"--lens {lens}" in text
    assert "--evaluator" in text and "every" in text
    assert max(scores) < text.index("sdlc artifact draft <slug> review")
    assert "review.md" in text


def test_sdlc_fix_review_fixes_rescores_updates_and_drafts() -> None:
    text = command_prompt("sdlc-fix-review", "auth")
    fix, score, update, draft = order(
        text,
        "Fix the code",
        "sdlc score set <slug> --lens",
        "Update review.md",
        "sdlc artifact draft <slug> review",
    )
    assert fix < score < update < draft
    for lens in ("product_fit", "research_grounding", "implementation"):
        assert f"--lens {lens}" in text


def test_sdlc_qa_and_fix_qa_record_results() -> None:
    qa = command_prompt("sdlc-qa", "auth")
    assert "qa-plan.md" in qa and "qa-results.md" in qa
    assert order(qa, "sdlc artifact draft <slug> qa_results", "sdlc artifact fail <slug> qa_results")
    fix = command_prompt("sdlc-fix-qa", "auth")
    fix_at, rerun, write, draft = order(
        fix,
        "Fix the code",
        "Re-run the whole QA plan",
        "new qa-results.md",
        "sdlc artifact draft <slug> qa_results",
    )
    assert fix_at < rerun < write < draft


def test_sdlc_implement_starts_tests_and_completes_the_task() -> None:
    text = command_prompt("sdlc-implement", "auth T3")
    start, complete = order(text, "sdlc task start <slug> <task_id>", "sdlc task complete <slug> <task_id>")
    assert start < complete
    assert "sdlc task block" in text and "tests" in text


def test_sdlc_merge_merges_the_branch_then_records() -> None:
    text = command_prompt("sdlc-merge", "auth")
    git, record = order(text, "git merge", "sdlc merge <slug>")
    assert git < record
    assert "when there is one" in text


def test_sdlc_approve_only_tells_the_human() -> None:
    text = command_prompt("sdlc-approve", "auth")
    assert "sdlc artifact approve <slug> <artifact>" in text
    assert "sdlc artifact reject" in text
    assert "Do not run `sdlc artifact approve`" in text
    assert "the human runs them" in text
    assert "sdlc artifact draft" not in text


def test_entry_points_dispatch() -> None:
    nxt = command_prompt("sdlc-next", "")
    assert "sdlc next --json" in nxt and "sdlc next --for <slug> --json" in nxt
    for name in NAMES:
        if name not in ("sdlc-next", "sdlc-status"):
            assert f"/{name}" in nxt, name
    claude_next = body("claude", "sdlc-next")
    assert ".claude/commands/sdlc-review.md" in claude_next
    status = command_prompt("sdlc-status", "")
    assert "sdlc state --json" in status and "sdlc next --json" in status


def test_sdlc_unblock_explains_for_humans() -> None:
    text = command_prompt("sdlc-unblock", "auth")
    for needle in ("sdlc comment resolve", "sdlc feature unblock", "sdlc task unblock", "sdlc task edit"):
        assert needle in text
    assert "read-only" in text
