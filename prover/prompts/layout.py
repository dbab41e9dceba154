"""How a template set lays out the proofs a refinement prompt shows, and its manifest.

A template directory written by `prover templates import` holds a `manifest.json` that names
its source and its layout. The `published` layout reproduces how DeepSeekMath-V2's
`inference/main.py` builds `{proofs_to_refine}`: which ratings of a proof it shows (every
readable one, grouped by score, lowest first, at most `max_rating_per_score` per score) and
how it lays them out. This module does not read templates or call models.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from prover.errors import InputError

MANIFEST = "manifest.json"
PROJECT = "project"  # the project's own layout (`Templates.refinement`)
PUBLISHED = "published"  # the layout of DeepSeekMath-V2's inference/main.py
LAYOUTS = (PROJECT, PUBLISHED)

# main.py's settings: `--n_proofs_to_refine` defaults to 1, and it passes
# `max_rating_per_score=4`; 8 ratings is its fixed limit per proof.
N_PROOFS_TO_REFINE = 1
MAX_RATING_PER_SCORE = 4
MAX_RATINGS = 8


def read_manifest(template_dir: str | Path) -> dict | None:
    """The manifest of an imported template set, or None for a plain directory."""
    path = Path(template_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not a JSON manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("layout", PROJECT) not in LAYOUTS:
        raise InputError(f"{path} names no known layout; layouts are: {', '.join(LAYOUTS)}")
    return manifest


def published_ratings(
    scored: Sequence[tuple[float, str]],
    per_score: int = MAX_RATING_PER_SCORE,
    limit: int = MAX_RATINGS,
) -> list[str]:
    """The ratings main.py shows for one proof, from its (score, rating) pairs in order.

    Scores ascending; up to `per_score` ratings per score, or `limit` when every rating has
    the same score. As in main.py, reaching `limit` ratings only ends the current score's
    group. main.py shuffles each group first; here they keep their order, so a resumed run
    builds the same prompt."""
    groups: dict[float, list[str]] = {}
    for score, rating in scored:
        groups.setdefault(float(score), []).append(rating)
    cap = limit if len(groups) == 1 else per_score
    shown: list[str] = []
    for score in sorted(groups):
        for rating in groups[score][:cap]:
            shown.append(rating)
            if len(shown) == limit:
                break
    return shown


def published_attempts(attempts: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`{proofs_to_refine}` as main.py writes it: each proof, then its numbered ratings."""
    summary: list[str] = []
    for proof, ratings in attempts:
        i = len(summary)
        shown = [
            f"=== Evaluation {j} of Solution {i} ===\n{r.strip()}" for j, r in enumerate(ratings)
        ]
        summary.append(f"--- Solution {i} ---\n{proof.strip()}\n\n" + "\n\n".join(shown))
    return "\n\n\n".join(summary).strip()
