"""Reward models on the tiny Llama (CPU): `prover train reward-model` for the ORM and the PRM,
`prover train step-labels` (Math-Shepherd) with resume, both reward functions inside a few
real GRPO steps, and bad data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli import main

pytest.importorskip("trl")
RECIPES = Path(__file__).resolve().parents[1] / "verifier_train/recipes"
TINY_RECIPE = RECIPES / "reward-model-tiny-cpu.yaml"
PROBE = "model.layers.0.mlp.down_proj.weight"  # a base weight every head keeps


def cli(*args) -> object:
    return CliRunner().invoke(main, ["train", *map(str, args)])


def write_jsonl(path: Path, rows: list, extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + extra, encoding="utf-8")
    return path


def changed(tiny_model: Path, final: Path) -> bool:
    from safetensors.torch import load_file

    before = load_file(tiny_model / "model.safetensors")[PROBE]
    return not before.equal(load_file(final / "model.safetensors")[PROBE])


def losses(out: Path) -> list[float]:
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    return [entry["loss"] for entry in state["log_history"] if "loss" in entry]


@pytest.fixture(scope="module")
def orm_run(tiny_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("orm")
    rows = [{"question": f"What is {i} + {i}?", "completion": f" {i} + {i} = {2 * i}.\n"
             f"The answer is \\boxed{{{2 * i + i % 2}}}.", "label": i % 2 == 0}
            for i in range(6)]  # fmt: skip
    rows.append({"prompt": [{"role": "user", "content": "Is 3 odd?"}], "completion": " Yes.",
                 "label": 1})  # fmt: skip
    bad = '{"question": "q", "completion": "c", "label": "maybe"}\n{oops\n'
    data = write_jsonl(tmp / "graded.jsonl", rows, bad)
    result = cli("reward-model", data, "--recipe", TINY_RECIPE, "--model", tiny_model,
                 "--out", tmp / "out")  # fmt: skip
    return result, tmp / "out"


@pytest.fixture(scope="module")
def prm_run(tiny_model, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prm")
    rows = [{"question": f"What is {i} + {i}?",
             "completions": [f"We add {i} and {i}.", f"So it is {2 * i}.", "\\boxed{1}"],
             "labels": [True, i % 2 == 0, False]} for i in range(5)]  # fmt: skip
    long = {"question": "Long?", "completions": ["x" * 20, "y" * 3000], "labels": [1, 0]}
    bad = '{"question": "q", "completions": ["a"], "labels": [true, false]}\n'
    data = write_jsonl(tmp / "steps.jsonl", [*rows, long], bad)
    result = cli("reward-model", data, "--kind", "process", "--recipe", TINY_RECIPE,
                 "--model", tiny_model, "--out", tmp / "out")  # fmt: skip
    return result, tmp / "out"


def test_orm_trains_reports_bad_records_and_reloads(orm_run, tiny_model):
    from verifier_train.reward_model import load_reward_model, outcome_scores

    result, out = orm_run
    assert result.exit_code == 0, result.output
    assert "graded.jsonl:8: label 'maybe'" in result.output
    assert "graded.jsonl:9: malformed JSON" in result.output
    assert "on 7 samples (2 bad records skipped)" in result.output
    assert len(losses(out)) == 2 and all(math.isfinite(x) for x in losses(out))
    assert changed(tiny_model, out / "final")
    model, tokenizer = load_reward_model(out / "final", "outcome", "cpu")
    assert model.config.pad_token_id == tokenizer.pad_token_id == 0
    assert model.config.problem_type == "multi_label_classification"
    scores = outcome_scores(model, tokenizer, ["Is 3 odd? Yes.", "x" * 600], max_length=512)
    assert 0.0 < scores[0] < 1.0 and scores[1] is None  # too long: unscorable


def test_prm_trains_truncates_and_reloads(prm_run, tiny_model):
    from verifier_train.reward_model import load_reward_model

    result, out = prm_run
    assert result.exit_code == 0, result.output
    assert "steps.jsonl:7: `labels` must be a list of 1 labels" in result.output
    assert "0 samples longer than max_length 512 skipped, 1 cut after" in result.output
    assert "on 6 samples" in result.output
    assert all(math.isfinite(x) for x in losses(out)) and changed(tiny_model, out / "final")
    model, _ = load_reward_model(out / "final", "process", "cpu")
    assert model.config.num_labels == 2 and model.config.id2label[1] == "correct"


def test_prm_labels_sit_on_each_steps_last_token(tiny_model):
    from transformers import AutoTokenizer

    from verifier_train.reward_data import ProcessExample
    from verifier_train.reward_model import encode_process, token_index_of_char

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    ex = ProcessExample("Q:", ("Let x be 1.", "Then x^2 >= 0."), (True, False))
    row = encode_process(tokenizer, ex, 512)
    marked = [(i, y) for i, y in enumerate(row["labels"]) if y != -100]
    assert [y for _, y in marked] == [1, 0]
    ends = [tokenizer.decode(row["input_ids"][: i + 1]) for i, _ in marked]
    assert ends == ["Q: Let x be 1.", "Q: Let x be 1.\nThen x^2 >= 0."]
    ids = tokenizer(" Let x be 1.\nThen", add_special_tokens=False)["input_ids"]
    k = token_index_of_char(tokenizer, ids, len(" Let x be 1."))
    assert tokenizer.decode(ids[: k + 1]) == " Let x be 1."


def test_reward_model_without_usable_records_is_one_line(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "label": 1}])
    result = cli("reward-model", data, "--recipe", TINY_RECIPE, "--model", tiny_model,
                 "--out", tmp_path / "o")  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: no usable outcome reward-model records (1 skipped)"
    )


def test_shipped_7b_recipe_reads():
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.reward_model import RewardModelRecipe

    path = RECIPES / "reward-model-deepseekmath-7b.yaml"
    settings = read_recipe(path)
    recipe = section(settings, "reward_model", RewardModelRecipe, path)
    assert settings["model"] == "deepseek-ai/deepseek-math-7b-base"
    assert recipe.learning_rate == 2e-5 and recipe.max_length == 4096
    assert recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps * 8 == 256


def test_reward_functions_drive_grpo_steps(orm_run, prm_run, tiny_model, tmp_path):
    import torch
    from datasets import Dataset

    from verifier_train.grpo import GRPORecipe, build_trainer, is_process_reward
    from verifier_train.reward_model import orm_reward_function, prm_reward_function

    orm = orm_reward_function(orm_run[1] / "final", device="cpu")
    prm = prm_reward_function(prm_run[1] / "final", tiny_model, device="cpu")
    assert is_process_reward(prm) and not is_process_reward(orm)
    assert orm(["Q"], [""]) == [None] and prm(["Q"], ["\n"]) == [None]
    prompts = [[{"role": "user", "content": f"What is {i} + 1?"}] for i in range(4)]
    recipe = GRPORecipe(num_generations=4, per_device_train_batch_size=4, max_steps=2,
                        gradient_accumulation_steps=1, max_completion_length=8,
                        learning_rate=1e-3, use_cpu=True, save_steps=1000)  # fmt: skip
    trainer = build_trainer(tiny_model, Dataset.from_dict({"prompt": prompts}), [orm, prm],
                            recipe, tmp_path)  # fmt: skip
    before = torch.cat([p.detach().flatten().clone() for p in trainer.model.parameters()])
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logs) == 2 and all(math.isfinite(entry["loss"]) for entry in logs)
    assert all(0.0 <= entry["rewards/orm_reward/mean"] <= 1.0 for entry in logs)
    assert "rewards/prm_reward/mean" in logs[0] and "process_advantage_abs_mean" in logs[0]
    after = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
    assert not torch.equal(before, after)


# --- Math-Shepherd step labels --------------------------------------------------------------


SOLUTIONS = [
    # The gold answer is boxed in step 1, so every continuation of any prefix keeps it as the
    # last box: 2 tokens of the tiny model cannot write a complete \boxed{...}, which takes
    # at least 4 ("\", "boxed", "{", "}" are separate pre-tokens of its byte-level BPE).
    {"question": "What is 6 x 7?", "answer": "42",
     "solution": "The answer is \\boxed{42}.\nSo we are done.\n\nIndeed."},
    # No step before the last holds a digit, and 2 tokens cannot reach 123456 (nor its x100
    # variants); the last step is the solution itself, graded right.
    {"question": "What is 6 x 7?", "answer": "123456",
     "steps": ["Let x be a real number.", "Then x is x.", "So \\boxed{123456}."]},
    {"question": "no gold"},
]  # fmt: skip


def step_labels(data: Path, out: Path, model: Path, *extra):
    return cli("step-labels", data, "--model", model, "--out", out, "--samples", 3,
               "--max-tokens", 2, "--seed", 0, *extra)  # fmt: skip


def test_step_estimates_hard_and_soft():
    from verifier_train.math_shepherd import StepEstimate, split_steps, step_spans

    assert (StepEstimate(1, 4).hard, StepEstimate(1, 4).soft) == (True, 0.25)
    assert (StepEstimate(0, 4).hard, StepEstimate(0, 4).soft) == (False, 0.0)
    assert split_steps(" a \n\n  b\n \nc") == ["a", "b", "c"]
    assert step_spans(" a \n\n  b") == [(1, 2), (7, 8)]


def test_step_labels_by_the_math_shepherd_rule_and_resume(tiny_model, tmp_path):
    from prover.rundir import read_jsonl

    data = write_jsonl(tmp_path / "solutions.jsonl", SOLUTIONS)
    out = tmp_path / "new" / "labels.jsonl"
    first = step_labels(data, out, tiny_model, "--limit", 1)
    assert first.exit_code == 0, first.output
    assert "labelled 1 solutions (2 step prefixes sampled" in first.output
    second = step_labels(data, out, tiny_model)
    assert second.exit_code == 0, second.output
    assert "solutions.jsonl:3: needs a non-empty `question`" in second.output
    assert "labelled 1 solutions (2 step prefixes sampled, 1 already labelled" in second.output
    boxed, plain = read_jsonl(out)
    assert boxed["completions"] == ["The answer is \\boxed{42}.", "So we are done.", "Indeed."]
    assert (boxed["labels"], boxed["soft_labels"]) == ([True] * 3, [1.0] * 3)
    assert (plain["labels"], plain["soft_labels"]) == ([False, False, True], [0.0, 0.0, 1.0])
    assert plain["prompt"][0]["content"].startswith("What is 6 x 7?\nPlease reason step by step")
    # Kill between calls: the per-step side file keeps what was sampled, nothing is redone.
    out.write_text(out.read_text().splitlines()[0] + "\n" + '{"key": "torn')
    third = step_labels(data, out, tiny_model)
    assert "labelled 1 solutions (0 step prefixes sampled, 1 already labelled" in third.output
    assert [r["labels"] for r in read_jsonl(out)] == [[True] * 3, [False, False, True]]


def test_step_labels_skip_steps_past_the_context(tiny_model, tmp_path):
    from prover.backends.hf import HFBackend
    from verifier_train.math_shepherd import ShepherdConfig, Solution, label_solutions

    config = json.loads((tiny_model / "config.json").read_text())
    small = tmp_path / "small"
    small.mkdir()
    for f in tiny_model.iterdir():
        (small / f.name).write_bytes(f.read_bytes())
    (small / "config.json").write_text(json.dumps({**config, "max_position_embeddings": 32}))
    solution = Solution("What is 1 + 1?", "2", ("One and one.", "Two: \\boxed{2}."))
    report = label_solutions([solution], HFBackend(str(small), device="cpu"),
                             tmp_path / "l.jsonl", ShepherdConfig(samples=2))  # fmt: skip
    assert (report.labelled, report.too_long) == (0, 1)


def test_step_labels_without_usable_records_is_one_line(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "bad.jsonl", [{"question": "q", "answer": "1"}])
    result = step_labels(data, tmp_path / "o.jsonl", tiny_model)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: no usable solutions in")
