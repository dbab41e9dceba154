"""The toy prover's training (`verifier_train.v2.toy_prover`) at tiny sizes, its model card,
and the shipped model's card against the shipped recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier_train.v2.toy_prover import (
    ToyProverRecipe,
    card_recipe,
    measure,
    train_toy_prover,
    write_card,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = ToyProverRecipe(
    hidden=32,
    layers=1,
    copy_steps=2,
    sft_steps=4,
    chunk_steps=2,
    sft_rows=40,
    batch=4,
    heldout_proofs=4,
    heldout_problems=3,
)


def test_recipe_checks_its_sizes():
    with pytest.raises(ValueError, match="multiple of chunk_steps"):
        ToyProverRecipe(sft_steps=5, chunk_steps=2)
    with pytest.raises(ValueError, match="more than sft_rows"):
        ToyProverRecipe(sft_steps=4, chunk_steps=2, batch=32, sft_rows=100)


def test_trains_measures_resumes_and_writes_a_card(tmp_path):
    logs: list[str] = []
    final = train_toy_prover(TINY, tmp_path, log=logs.append)
    assert (final / "config.json").is_file() and len(logs) == 3  # copy + 2 chunks
    found = measure(final, TINY, max_tokens=8)
    assert found.proofs == 4 and found.problems == 3
    assert 0.0 <= found.verifier_accuracy <= 1.0
    card = write_card(final, TINY, found, seconds=1.0)
    assert card_recipe(card) == TINY
    logs.clear()
    assert train_toy_prover(TINY, tmp_path, log=logs.append) == final and not logs  # resumed
