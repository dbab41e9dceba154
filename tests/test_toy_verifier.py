"""The toy verifier (`verifier_train.v2.toy_verifier`): its stages trained at tiny sizes
through `prover iterate` (chunks, held-out problems kept out, measurement, card, resume), its
recipe's one-line errors, and the shipped recipe and proofs file."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prover.cli import main
from verifier_train.recipe_yaml import read_recipe, section
from verifier_train.v2.toy_verifier import (
    ToyVerifierRecipe,
    VerifierStage,
    held_problems,
    read_proofs,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "verifier_train/recipes/toy-verifier.yaml"
PROOFS = ROOT / "datasets/toy/generator-proofs.jsonl.gz"
TINY = {
    "hidden": 32,
    "layers": 1,
    "copy_steps": 2,
    "batch": 4,
    "heldout_proofs": 4,
    "heldout_generated": 3,
    "reserve_proofs": 20,
    "reserve_problems": 20,
    "stages": [
        {"steps": 2, "chunk_steps": 1, "mix": "train", "meta": 0.25, "generated": 0.5,
         "last_schedule": "cosine"},
        {"steps": 1, "chunk_steps": 1, "mix": "skip", "meta": 0.25, "generated": 0.25,
         "meta_form": "worked", "meta_written": 0.5, "data_seed": 1},
    ],
}  # fmt: skip


def _proofs(tmp_path: Path, n: int = 40) -> Path:
    """The first n rows of the shipped proofs file, and one cut-off line."""
    with gzip.open(PROOFS, "rt") as f:
        lines = [next(f) for _ in range(n)]
    path = tmp_path / "gen.jsonl"
    path.write_text("".join(lines) + '{"problem": "cut')
    return path


def _recipe(tmp_path: Path, toy: dict, proofs: str = "gen.jsonl") -> Path:
    path = tmp_path / "toy.yaml"
    body = {"toy_verifier": toy, "data": {"generator_proofs": proofs}, "iterate": {"rounds": 0}}
    path.write_text(yaml.safe_dump(body))
    return path


def test_iterate_trains_every_stage_keeps_held_out_problems_out_and_resumes(tmp_path):
    _proofs(tmp_path)
    recipe, out = _recipe(tmp_path, TINY), tmp_path / "run"
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "skipped 1 unreadable lines (first: line 41)" in result.output
    root = out / "toy-verifier"
    times = json.loads((root / "times.json").read_text())
    assert set(times) == {"copy", "stage1-1", "stage1-2", "stage2-1"}
    final = root / "final"
    assert f"no rounds; the model is {final}" in result.output
    trained = set(json.loads((final / "training_problems.json").read_text()))
    toy = section(read_recipe(recipe), "toy_verifier", ToyVerifierRecipe, recipe)
    rows, _ = read_proofs(tmp_path / "gen.jsonl")
    from verifier_train.v2.toyworld.rows import World

    assert trained and not trained & held_problems(toy, World(toy.families), rows)
    held = json.loads((final / "heldout.json").read_text())
    assert held["proofs"] == 4 and held["generated_proofs"] > 0
    assert sum(held["generated_counts"].values()) == held["generated_proofs"]
    card = (final / "MODEL_CARD.md").read_text()
    label, count = next(iter(held["generated_counts"].items()))
    assert "Held-out figures" in card and f"{label} " in card and f"% of {count}" in card
    again = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert again.exit_code == 0 and "done in" not in again.output  # nothing retrained


def test_candidates_train_in_worker_processes_and_the_best_on_validation_goes_on(tmp_path):
    _proofs(tmp_path)
    first = TINY["stages"][0] | {"candidates": 2}
    toy = TINY | {"validation_proofs": 4, "validation_generated": 2, "workers": 2,
                  "stages": [first, TINY["stages"][1]]}  # fmt: skip
    recipe, out = _recipe(tmp_path, toy), tmp_path / "run"
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    root = out / "toy-verifier"
    times = json.loads((root / "times.json").read_text())
    assert set(times) == {"copy", "stage1c0-1", "stage1c0-2", "stage1c1-1", "stage1c1-2",
                          "stage2-1"}  # fmt: skip
    scores = {c: json.loads((root / f"stage1c{c}-2" / "validation.json").read_text())
              for c in (0, 1)}  # fmt: skip
    assert all(set(s) == {"planted", "generated", "score"} for s in scores.values())
    best = max((0, 1), key=lambda c: (scores[c]["score"], -c))
    assert f"stage 2, 1 steps from stage1c{best}-2" in result.output
    assert "validation scores stage1c0-2" in result.output
    assert "stage1c1-2 " in (root / "final" / "MODEL_CARD.md").read_text()
    assert not (root / "stage2-1" / "validation.json").exists()  # one candidate: not scored
    toy_recipe = section(read_recipe(recipe), "toy_verifier", ToyVerifierRecipe, recipe)
    rows, _ = read_proofs(tmp_path / "gen.jsonl")
    from verifier_train.v2.toy_verifier import split
    from verifier_train.v2.toyworld.rows import World

    away, check = split(toy_recipe, World(toy_recipe.families), rows)
    trained = set(json.loads((root / "final" / "training_problems.json").read_text()))
    assert check.proofs and check.problems() <= away and check.problems() <= trained
    assert not trained & (away - check.problems())
    again = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert again.exit_code == 0 and "done in" not in again.output  # nothing retrained


TINY_GENERATOR = {
    "problems": 40,
    "sft_steps": 2,
    "batch": 4,
    "grpo_steps": 1,
    "grpo_batch": 4,
    "generations": 2,
    "generation_tokens": 24,
    "verification_tokens": 24,
    "heldout_problems": 3,
    "heldout_samples": 1,
    "quote_check": True,
}


def test_iterate_trains_the_generator_the_verifier_rewards(tmp_path):
    _proofs(tmp_path)
    recipe, out = _recipe(tmp_path, TINY), tmp_path / "run"
    body = yaml.safe_load(recipe.read_text()) | {"toy_generator": TINY_GENERATOR}
    recipe.write_text(yaml.safe_dump(body))
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert result.exit_code == 0, result.output
    final = out / "toy-generator" / "final"
    assert f"toy generator: {final}" in result.output
    held = json.loads((final / "heldout.json").read_text())
    assert set(held) == {"sft", "grpo"} and held["grpo"]["proofs"] == 3
    card = (final / "MODEL_CARD.md").read_text()
    assert "1 GRPO steps rewarded by the toy verifier" in card
    assert (out / "toy-generator" / "grpo" / "metrics.jsonl").is_file()
    again = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert again.exit_code == 0 and "done in" not in again.output  # nothing retrained
    shutil.rmtree(out / "toy-generator")  # a run folder kept without the warm-up's weights:
    (out / "toy-verifier" / "copy" / "model.safetensors").unlink()
    broken = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert broken.exit_code != 0 and "has no weights" in broken.output, broken.output
    assert "Traceback" not in broken.output


def test_a_generator_without_a_verifier_or_with_a_bad_batch_is_one_line(tmp_path):
    _proofs(tmp_path)
    recipe = tmp_path / "toy.yaml"
    for body, message in (
        ({"toy_generator": {}, "iterate": {"rounds": 0}}, "rewarded by a `toy_verifier`"),
        ({"toy_verifier": TINY, "toy_generator": {"grpo_batch": 5}, "iterate": {"rounds": 0}},
         "multiple of generations"),
        ({"toy_verifier": TINY, "toy_generator": {"quote_check": "maybe"},
          "iterate": {"rounds": 0}}, "quote_check must be true or false, not 'maybe'"),
    ):  # fmt: skip
        recipe.write_text(yaml.safe_dump(body))
        out = tmp_path / "o"
        result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stages": []}, "no stages"),
        ({"stages": [{"steps": 3, "chunk_steps": 2}]}, "multiple of chunk_steps"),
        ({"stages": [{"mix": "skipped"}]}, "mix 'skipped' is not one of"),
        ({"stages": [{"step": 3}]}, "unknown stage setting 'step'"),
        ({"stages": [{"meta": 0.7, "generated": 0.4}]}, "more than all the rows"),
        ({"stages": [{"meta": "lots"}]}, "stage.meta must be a number, not 'lots'"),
        ({"stages": [3]}, "a stage is a mapping"),
        ({"stages": "train"}, "stages is a list"),
        ({"stages": [{"candidates": 0}]}, "candidates is at least 1"),
        ({"workers": 0}, "workers is at least 1"),
    ],
)
def test_a_bad_stage_is_one_line(tmp_path, change, message):
    _proofs(tmp_path)
    recipe = _recipe(tmp_path, TINY | change)
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_a_missing_or_unreadable_proofs_file_is_one_line_before_any_work(tmp_path):
    for name, text, message in (
        ("none.jsonl", None, "no file"),
        ("bad.jsonl", "not json\n", "no readable proof rows"),
        ("bad.jsonl.gz", "not gzip", "cannot read"),
    ):
        if text is not None:
            (tmp_path / name).write_text(text)
        recipe = _recipe(tmp_path, TINY, name)
        out = tmp_path / "o"
        result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
        assert result.exit_code != 0 and message in result.output, result.output
        assert "Traceback" not in result.output and not out.exists()


def test_stages_that_need_generator_proofs_stop_without_a_file_before_any_work(tmp_path):
    recipe, out = tmp_path / "toy.yaml", tmp_path / "o"
    recipe.write_text(yaml.safe_dump({"toy_verifier": TINY, "iterate": {"rounds": 0}}))
    result = CliRunner().invoke(main, ["iterate", str(recipe), "--out", str(out)])
    assert result.exit_code != 0 and "list their files in data.generator_proofs" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_the_shipped_recipe_reads_and_its_proofs_file_is_whole():
    toy = section(read_recipe(SHIPPED), "toy_verifier", ToyVerifierRecipe, SHIPPED)
    assert [s.mix for s in toy.stages] == ["train", "train"] + 4 * ["skip"] + ["typos"]
    assert [s.meta_form for s in toy.stages] == ["sentence"] + 6 * ["worked"]
    assert [s.data_seed for s in toy.stages] == [0, 1, 2, 3, 4, 5, 6]  # each stage on fresh rows
    assert sum(s.steps for s in toy.stages) == 4800
    assert (SHIPPED.parent / read_recipe(SHIPPED)["data"]["generator_proofs"]).resolve() == PROOFS
    rows, bad = read_proofs(PROOFS)
    assert len(rows) == 16000 and not bad
    assert "toy_generator" in read_recipe(SHIPPED)


def test_stage_defaults_are_the_plain_drawn_mix():
    stage = VerifierStage()
    assert (stage.mix, stage.meta, stage.generated, stage.meta_form) == ("default", 0, 0,
                                                                          "sentence")  # fmt: skip
