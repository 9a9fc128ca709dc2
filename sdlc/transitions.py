"""Phase moves (spec/sdlc.md §4): the guard, the move itself and auto-advance. Pure."""

from __future__ import annotations

from sdlc.classifier import classify
from sdlc.config import Config
from sdlc.criteria import DependencyStates, FileHashes, exit_criteria
from sdlc.errors import InvalidTransition, InvalidValue
from sdlc.lifecycle import PHASE_INDEX, PHASES
from sdlc.model import Feature, PhaseEntry


def enter_phase(feature: Feature, phase: str, at: str) -> None:
    """Move `feature` to `phase`, closing the open phase-history entry."""
    for entry in feature.phase_history:
        if entry.exited is None:
            entry.exited = at
    feature.phase_history.append(PhaseEntry(phase, at))
    feature.phase = phase


def check_target(feature: Feature, target: str, config: Config) -> None:
    """Refuse moves that no criteria can allow: unknown, backward, disabled, released."""
    if target not in PHASE_INDEX:
        raise InvalidValue(f"invalid value: unknown phase '{target}'", hint="phases: " + ", ".join(PHASES))
    if feature.archived:
        raise InvalidTransition(
            f"feature '{feature.slug}' is archived",
            hint=f"unarchive it first: sdlc feature unarchive {feature.slug}",
        )
    if PHASE_INDEX[target] < PHASE_INDEX[feature.phase]:
        raise InvalidTransition(
            f"cannot move '{feature.slug}' from {feature.phase} back to {target}: phases only move forward",
            hint="new work on a finished phase belongs in a new feature",
        )
    if target == "released" and feature.phase != "released":
        raise InvalidTransition(
            f"cannot transition '{feature.slug}' to released",
            hint=f"use `sdlc merge {feature.slug}`",
        )
    if target != feature.phase and target not in config.enabled_phases:
        raise InvalidTransition(
            f"phase '{target}' is disabled in .sdlc/config.yaml",
            hint="see phases.enabled in .sdlc/config.yaml",
        )


def guard_transition(
    feature: Feature, target: str, config: Config, files: FileHashes, deps: DependencyStates
) -> None:
    """Every phase from the current one up to the one before `target` must meet its exit
    criteria; otherwise InvalidTransition names the first unmet criterion."""
    check_target(feature, target, config)
    for phase in PHASES[PHASE_INDEX[feature.phase] : PHASE_INDEX[target]]:
        if phase != feature.phase and phase not in config.enabled_phases:
            continue
        unmet = exit_criteria(feature, config, files, deps, phase=phase)
        if unmet:
            raise InvalidTransition(
                f"cannot transition '{feature.slug}' to {target}: exit criteria of {phase} "
                f"not met: {unmet[0].message}",
                hint=f"see `sdlc next --for {feature.slug} --explain`",
            )


def auto_advance(
    feature: Feature, config: Config, files: FileHashes, deps: DependencyStates, at: str
) -> list[str]:
    """Apply `advance` while the classifier answers it, at most once per phase."""
    hops: list[str] = []
    while True:
        result = classify(feature, config, files, deps)
        if result.action != "advance" or result.transition_to is None:
            return hops
        if result.transition_to in hops:
            return hops
        enter_phase(feature, result.transition_to, at)
        hops.append(result.transition_to)
