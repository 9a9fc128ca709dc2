"""Quality scores (spec/sdlc.md §2 "Quality score")."""

from __future__ import annotations

from typing import Any

from sdlc.errors import InvalidValue
from sdlc.model import Score
from sdlc.names import check_names
from sdlc.ops.common import feature_row
from sdlc.store import Store
from sdlc.transaction import Transaction


def set_score(
    store: Store, actor: str, slug: str, lens: str, value: int, evaluator: str | None
) -> dict[str, Any]:
    if not 0 <= value <= 100:
        raise InvalidValue(f"invalid value: score {value} is outside 0..100", hint="give --value 0..100")
    if not lens.strip():
        raise InvalidValue("invalid value: empty lens", hint="e.g. --lens implementation")
    check_names([slug])
    with Transaction(store, actor) as tx:
        feature = tx.feature(slug)
        score = Score(lens.strip(), value, evaluator or actor, tx.at)
        feature.scores.append(score)
        tx.save(feature)
        tx.event("score.set", slug, lens=score.lens, score=value, evaluator=score.evaluator)
        hops = tx.commit()
    return {
        "feature": slug,
        "phase": feature.phase,
        "score": score.to_dict(),
        "transitioned": hops.get(slug, []),
    }


def show_scores(store: Store, slug: str) -> dict[str, Any]:
    """The counted score per lens, with the configured thresholds."""
    feature = store.load_feature(slug)
    quality = store.config.quality
    counted = feature.counted_scores()
    lenses = sorted(set(counted) | (set(quality.lenses) if quality.require_all_lenses else set()))
    return {
        "feature": slug,
        "enforce": quality.enforce,
        "min_score_to_advance": quality.min_score_to_advance,
        "min_score_to_release": quality.min_score_to_release,
        "lenses": [{"lens": lens, "score": counted.get(lens)} for lens in lenses],
    }


def score_history(store: Store, slug: str) -> list[dict[str, Any]]:
    return [feature_row(slug, s.to_dict()) for s in store.load_feature(slug).scores]
