"""`sdlc config ...` use cases (spec/sdlc.md §6): the effective config, validation (the checks
are in sdlc.ops.config_check), and agent routing changes.

Routing changes rewrite .sdlc/config.yaml under the project lock, atomically and together with
their `config.changed` event (one journal entry). The file is re-emitted from its parsed
mapping: every key and value is kept, its comments and layout are not."""

from __future__ import annotations

from typing import Any

from sdlc.agents import (
    BACKEND_ALIASES,
    BACKEND_TYPES,
    DEFAULT_BACKEND,
    AgentRouting,
    Backend,
    parse_agents,
    parse_backend,
)
from sdlc.config import Config
from sdlc.errors import ConfigInvalid, InvalidValue, UsageError
from sdlc.lifecycle import ARTIFACTS, HUMAN_ACTIONS
from sdlc.ops.config_check import (
    CONFIG_FILE,
    ROUTABLE_ACTIONS,
    human_message,
    names,
    problems_of,
    unroutable,
)
from sdlc.ops.platform import parse_platform
from sdlc.store import Store

# -- reading the file ---------------------------------------------------------------------------


def _parse_text(text: bytes) -> Any:
    """The YAML document; raises ConfigInvalid saying where it does not parse."""
    from sdlc import yamlio

    try:
        return yamlio.loads(text)
    except yamlio.yaml_error() as err:
        raise ConfigInvalid(f"corrupt file {CONFIG_FILE}: {yamlio.describe_error(err)}") from None


def _read_raw(store: Store) -> Any:
    store.require_initialized()
    try:
        text = store.paths.config.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ConfigInvalid(f"cannot read {CONFIG_FILE}") from err
    return _parse_text(text)


def read_document(store: Store) -> dict[str, Any]:
    """The config file's mapping, read now ({} when the file is absent or empty)."""
    data = _read_raw(store)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigInvalid(f"invalid config: {CONFIG_FILE} must hold a mapping")
    return data


# -- validate ---------------------------------------------------------------------------------------


def validate(store: Store) -> dict[str, Any]:
    """`config validate`: {valid, problems[{path, message}]}."""
    try:
        problems = problems_of(_read_raw(store))
    except ConfigInvalid as err:  # the YAML itself does not parse
        problems = [{"path": "", "message": err.full_message()}]
    result: dict[str, Any] = {"valid": not problems, "problems": problems}
    if problems:
        result["code"] = ConfigInvalid.code
    return result


# -- show ---------------------------------------------------------------------------------------


def _gate_view(gate: dict[str, Any]) -> dict[str, Any]:
    view = {"name": gate["name"], "type": gate["type"]}
    for key in ("command", "prompt", "questions"):
        if gate.get(key) is not None:
            view[key] = gate[key]
    view["max_retries"] = gate["max_retries"]
    view["timeout_seconds"] = gate["timeout_seconds"]
    return view


def _callbacks_view(value: Any, project_name: str) -> dict[str, Any]:
    """The file's callbacks section with its defaults; a null url leaves it to the environment."""
    from sdlc.callbacks import DEFAULT_TOKEN_ENV

    callbacks = value if isinstance(value, dict) else {}
    return {
        "url": callbacks.get("url"),
        "token_env": callbacks.get("token_env") or DEFAULT_TOKEN_ENV,
        "project": callbacks.get("project") or project_name,
    }


def _platform_view(value: Any) -> dict[str, Any]:
    commands = {}
    for name, command in parse_platform(value).items():
        commands[name] = {
            "description": command.description,
            "script": command.script,
            "args": [arg.as_dict() for arg in command.args],
            "subcommands": dict(command.subcommands),
        }
    return {"commands": commands}


def effective_config(config: Config) -> dict[str, Any]:
    """The config sdlc works with: the file's values over the defaults, in our shapes."""
    raw = config.raw
    routing = parse_agents(raw.get("agents"))
    quality = config.quality
    version = raw.get("version", 1)
    return {
        "version": version if isinstance(version, int) else 1,
        "project": {"name": config.project_name, "description": config.project_description},
        "phases": {
            "enabled": list(config.enabled_phases),
            "required_artifacts": {p: list(a) for p, a in config.required_artifacts.items()},
        },
        "lifecycle": {
            "auto_advance": config.auto_advance,
            "living_artifacts": [a for a in ARTIFACTS if a in config.living_artifacts],
        },
        "quality": {
            "enforce": quality.enforce,
            "min_score_to_advance": quality.min_score_to_advance,
            "min_score_to_release": quality.min_score_to_release,
            "require_all_lenses": quality.require_all_lenses,
            "lenses": list(quality.lenses),
        },
        "agents": {
            "default": routing.default.as_dict(),
            "actions": {a: b.as_dict() for a, b in routing.actions.items()},
        },
        "gates": {a: [_gate_view(g) for g in gates] for a, gates in config.gates.items()},
        "platform": _platform_view(raw.get("platform")),
        "callbacks": _callbacks_view(raw.get("callbacks"), config.project_name),
    }


def show(store: Store) -> dict[str, Any]:
    store.require_initialized()
    return effective_config(store.config)


# -- agent routing ------------------------------------------------------------------------------


def routing_view(routing: AgentRouting) -> dict[str, Any]:
    """`config agent show`: the default, the routed actions, and who runs every action."""
    routes = []
    for action in ROUTABLE_ACTIONS:
        human = action in HUMAN_ACTIONS
        backend = routing.backend_for(action)
        routes.append(
            {
                "action": action,
                "by": "human" if human or not backend.is_agent else "agent",
                "backend": backend.as_dict(),
                "source": "action" if action in routing.actions else ("human" if human else "default"),
                "timeout_minutes": None if human else routing.timeout_minutes(action),
            }
        )
    return {
        "default": routing.default.as_dict(),
        "actions": {a: b.as_dict() for a, b in routing.actions.items()},
        "routes": routes,
    }


def agent_show(store: Store) -> dict[str, Any]:
    return routing_view(parse_agents(read_document(store).get("agents")))


def _backend_type(name: str) -> str:
    kind = BACKEND_ALIASES.get(name, name)
    if kind not in BACKEND_TYPES:
        raise InvalidValue(
            f"invalid value: unknown backend type '{name}'",
            hint=f"backend types: {names(BACKEND_TYPES)}",
        )
    return kind


def build_backend(kind: str, fields: dict[str, Any], path: str) -> Backend:
    """A backend from the command line's TYPE and options (None values are left out)."""
    kind = _backend_type(kind)
    if kind == "shell" and not fields.get("command"):
        raise UsageError("missing required argument: --command (the command a shell backend runs)")
    if kind == "xadk" and not fields.get("agent_id"):
        raise UsageError("missing required argument: --agent-id (the agent an xadk backend runs)")
    entry = {"type": kind, **{k: v for k, v in fields.items() if v is not None}}
    return parse_backend(entry, path)


def _routable(action: str) -> str:
    if action not in ROUTABLE_ACTIONS:
        raise InvalidValue(f"invalid value: {unroutable(action)}", hint="see `sdlc config agent show`")
    return action


def _write_agents(store: Store, actor: str, change: Any) -> dict[str, Any]:
    """Under the lock: re-read the file, let `change(agents)` edit the agents mapping and
    return (key, value) of the change or None when nothing changes, then write the file
    and its `config.changed` event in one journal entry."""
    from sdlc import yamlio
    from sdlc.events import number_events
    from sdlc.journal import apply_journal, write_journal
    from sdlc.transaction import Transaction

    paths = store.paths
    with Transaction(store, actor) as tx:
        document = read_document(store)
        agents = document.get("agents")
        if agents is None:
            agents = {}
        if not isinstance(agents, dict):
            raise ConfigInvalid(
                "invalid config: agents must be a mapping", hint="fix it in .sdlc/config.yaml"
            )
        agents = dict(agents)
        edit = change(agents)
        # the agents section written must parse (a broken entry elsewhere is named here)
        routing = parse_agents(agents)
        if edit is not None:
            key, value = edit
            document["agents"] = agents
            event = {
                "ts": tx.at,
                "actor": actor,
                "type": "config.changed",
                "data": {"key": key, "value": value},
            }
            events = number_events(paths.events, [event])
            files = {paths.relative(paths.config): yamlio.dumps(document)}
            write_journal(paths, files, events)
            apply_journal(paths, files, events)
            # the stat-keyed copy of the old mapping could survive a same-size rewrite in one tick
            (paths.cache / "config.json").unlink(missing_ok=True)
    if edit is not None:  # like every mutation: deliver the event, after the lock is released
        from sdlc.callbacks import start_detached_flush

        start_detached_flush(store)
    return {"changed": edit is not None, "key": edit[0] if edit else None, **routing_view(routing)}


def set_default(store: Store, actor: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`config agent set-default TYPE ...`: replace agents.default."""
    backend = build_backend(kind, fields, "agents.default").as_dict()

    def change(agents: dict[str, Any]) -> tuple[str, Any] | None:
        if agents.get("default") == backend:
            return None
        agents["default"] = backend
        return "agents.default", backend

    return _write_agents(store, actor, change)


def set_action(store: Store, actor: str, action: str, kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """`config agent set-action ACTION TYPE ...`: route one action to a backend."""
    path = f"agents.actions.{_routable(action)}"
    backend = build_backend(kind, fields, path)
    if action in HUMAN_ACTIONS and backend.is_agent:
        raise ConfigInvalid(
            f"refused: {human_message(action, backend.type)}",
            hint=f"human actions: {names(sorted(HUMAN_ACTIONS))}",
        )
    entry = backend.as_dict()

    def change(agents: dict[str, Any]) -> tuple[str, Any] | None:
        actions = agents.get("actions")
        actions = dict(actions) if isinstance(actions, dict) else {}
        if actions.get(action) == entry:
            return None
        actions[action] = entry
        agents["actions"] = actions
        return path, entry

    return _write_agents(store, actor, change)


def reset(store: Store, actor: str, action: str | None) -> dict[str, Any]:
    """`config agent reset [ACTION]`: drop one action's routing, or restore the whole agents
    section to the default backend with no per-action routing."""
    if action is not None:
        _routable(action)

    def change(agents: dict[str, Any]) -> tuple[str, Any] | None:
        actions = agents.get("actions")
        if action is None:
            if (
                not actions
                and agents.get("default") in (None, DEFAULT_BACKEND)
                and set(agents) <= {"default", "actions"}
            ):
                return None
            agents.clear()
            agents["default"] = dict(DEFAULT_BACKEND)
            return "agents", dict(agents)
        if not isinstance(actions, dict) or action not in actions:
            return None
        actions = {a: b for a, b in actions.items() if a != action}
        if actions:
            agents["actions"] = actions
        else:
            agents.pop("actions")
        return f"agents.actions.{action}", None

    return _write_agents(store, actor, change)
