"""The toy prover (`verifier_train.v2.toy_prover`): trained at tiny sizes through
`prover iterate` (cold start, measurement, model card, resume), and the shipped model's card
against the shipped recipe."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prover.cli import main
from verifier_train.recipe_yaml import read_recipe, section
from verifier_train.v2.toy_prover import (
    CONSTANT,
    ToyProverRecipe,
    card_recipe,
    train_toy_prover,
    training_times,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_RECIPE = ROOT / "verifier_train/recipes/toy-prover.yaml"
SHIPPED_CARD = ROOT / "prover/models/toy/MODEL_CARD.md"
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


def test_recipe_checks_its_last_schedule_and_anneals_only_the_last_chunk(tmp_path, monkeypatch):
    from verifier_train.v2 import toy_prover
    from verifier_train.v2.toyworld import charmodel

    with pytest.raises(ValueError, match="last_schedule 'cosin'"):
        replace(TINY, last_schedule="cosin")
    calls = []

    def fake_sft(model, rows, steps, batch, lr, seed, out, callbacks=(), schedule=CONSTANT):
        calls.append((out.name, schedule))
        out.mkdir(parents=True)
        (out / "config.json").write_text("{}")
        return out

    monkeypatch.setattr(toy_prover, "sft", fake_sft)
    monkeypatch.setattr(charmodel, "build_char_model", lambda *a, **k: tmp_path / "init")
    train_toy_prover(replace(TINY, last_schedule="cosine"), tmp_path / "run")
    assert calls == [("copy", CONSTANT), ("sft-2", CONSTANT), ("sft-4", "cosine")]


def test_recipe_checks_its_sizes():
    with pytest.raises(ValueError, match="multiple of chunk_steps"):
        ToyProverRecipe(sft_steps=5, chunk_steps=2)
    with pytest.raises(ValueError, match="more than sft_rows"):
        ToyProverRecipe(sft_steps=4, chunk_steps=2, batch=32, sft_rows=100)


def test_iterate_trains_measures_cards_and_resumes_the_toy_prover(tmp_path):
    recipe = tmp_path / "toy.yaml"
    tiny = asdict(TINY) | {"families": list(TINY.families)}
    recipe.write_text(yaml.safe_dump({"toy_prover": tiny, "iterate": {"rounds": 0}}))
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    final = out / "toy-prover" / "final"
    assert f"no rounds; the model is {final}" in result.output
    assert set(training_times(out / "toy-prover")) == {"copy", "sft-2", "sft-4"}
    card = final / "MODEL_CARD.md"
    assert card_recipe(card) == TINY and "Held-out figures" in card.read_text()
    again = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert again.exit_code == 0 and "done in" not in again.output  # nothing retrained


def test_a_bad_toy_recipe_is_one_line(tmp_path):
    recipe = tmp_path / "toy.yaml"
    recipe.write_text(yaml.safe_dump({"toy_prover": {"sft_steps": 5}, "iterate": {"rounds": 0}}))
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "multiple of chunk_steps" in result.output
    assert "Traceback" not in result.output


@pytest.mark.skipif(not SHIPPED_CARD.is_file(), reason="the toy model is not in this checkout")
def test_shipped_card_matches_the_shipped_recipe():
    shipped = section(read_recipe(SHIPPED_RECIPE), "toy_prover", ToyProverRecipe, SHIPPED_RECIPE)
    assert card_recipe(SHIPPED_CARD) == shipped
    config = json.loads((SHIPPED_CARD.parent / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"]) == (shipped.hidden, shipped.layers)


@pytest.mark.skipif(not SHIPPED_CARD.is_file(), reason="the toy model is not in this checkout")
def test_readme_first_command_solves_offline_with_the_shipped_toy_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    problem = ROOT / "datasets/examples/toy_linear.tex"
    args = ["solve", str(problem), "--model", "toy", "-R", "0", "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "## Solution" in result.output or "Step 1:" in result.output
    assert "Mean verifier score" in result.output


def test_fold_notes_false_writes_the_analyses_the_shipped_model_was_trained_on():
    from verifier_train.v2.toy_prover import draws
    from verifier_train.v2.toyworld import analysis

    small = ToyProverRecipe(sft_steps=10, chunk_steps=10, sft_rows=400, batch=4)
    noted = [p["analysis"] for p in draws(small)[0]]
    plain = [p["analysis"] for p in draws(replace(small, fold_notes=False))[0]]
    assert any(" -> " in a for a in noted) and not any(" -> " in a for a in plain)
    assert analysis.NOTES == "columns"  # the switch is back on after the draw
    results = [p["analysis"] for p in draws(replace(small, fold_notes="results"))[0]]
    assert any(" -> " in a for a in results) and results != noted  # sums without columns
    with pytest.raises(ValueError, match="fold notes"):
        replace(small, fold_notes="colums")
    quoted = [p["analysis"] for p in draws(replace(small, quote_first=True))[0]]
    assert quoted != noted and not analysis.QUOTE  # off again after the draw
    assert all(len(q) > len(a) for q, a in zip(quoted, noted, strict=True) if "Step 1:" in a)


def test_sft_schedule_defaults_to_the_shipped_constant_and_takes_cosine(tmp_path):
    from verifier_train.v2.toy_prover import sft_args

    shipped = sft_args(300, 32, 1e-3, 0, tmp_path)
    cosine = sft_args(600, 32, 1e-3, 0, tmp_path, "cosine")
    assert shipped.lr_scheduler_type == "constant_with_warmup"  # a str-valued enum
    assert cosine.lr_scheduler_type == "cosine"
    assert (shipped.warmup_steps, cosine.warmup_steps) == (20, 20)
