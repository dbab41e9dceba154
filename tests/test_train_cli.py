"""`prover train grpo` end to end on the tiny model (CPU), with resume and recipe errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli import main

pytest.importorskip("trl")
TINY_RECIPE = Path(__file__).resolve().parents[1] / "verifier_train/recipes/grpo-tiny-cpu.yaml"


def grpo(*args: str):
    return CliRunner().invoke(main, ["train", "grpo", *map(str, args)], catch_exceptions=False)


def test_grpo_trains_saves_and_resumes(tiny_model, tmp_path):
    out = tmp_path / "run"
    common = ["gym:basic_arithmetic:8", "--recipe", TINY_RECIPE, "--model", tiny_model]
    first = grpo(*common, "--out", out)
    assert first.exit_code == 0, first.output
    assert (out / "final" / "config.json").exists() and (out / "checkpoint-2").is_dir()
    again = grpo(*common, "--out", out, "--max-steps", "3")  # resumes from checkpoint-2
    assert again.exit_code == 0, again.output
    assert (out / "checkpoint-3").is_dir()


def test_unknown_recipe_setting_is_one_line(tmp_path):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("model: x\ngrpo:\n  num_generation: 4\n")
    result = CliRunner().invoke(main, ["train", "grpo", "champ", "--recipe", str(recipe),
                                       "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "unknown grpo setting 'num_generation'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_shipped_paper_recipe_reads():
    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section

    path = TINY_RECIPE.with_name("grpo-deepseekmath-7b.yaml")
    recipe = section(read_recipe(path), "grpo", GRPORecipe, path)
    assert (recipe.num_generations, recipe.beta, recipe.loss_type) == (64, 0.04, "grpo")
    ranks = 8  # the recipe's accelerate config
    assert recipe.per_device_train_batch_size * recipe.gradient_accumulation_steps * ranks == 1024


def test_sft_from_gsm8k_records(tiny_model, tmp_path):
    import json

    data = tmp_path / "gsm8k.jsonl"
    rows = [{"question": f"What is {i} + {i}?", "answer": f"{i} + {i} = {2 * i}\n#### {2 * i}"}
            for i in range(6)]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{oops\n")
    recipe = TINY_RECIPE.with_name("sft-tiny-cpu.yaml")
    result = CliRunner().invoke(
        main,
        [
            "train",
            "sft",
            str(data),
            "--recipe",
            str(recipe),
            "--model",
            str(tiny_model),
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "fine-tuned" in result.output
    final = tmp_path / "o" / "final"
    assert (final / "config.json").exists()
    from conftest import logged_losses, weights_changed

    assert weights_changed(tiny_model, final)
    losses = logged_losses(tmp_path / "o")
    assert losses and all(math.isfinite(x) for x in losses)
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(final)  # the checkpoint reloads


def test_gpu_recipe_on_a_cpu_is_one_line(tiny_model, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    data = tmp_path / "s.jsonl"
    data.write_text('{"question": "What is 1+1?", "answer": "1+1=2\\n#### 2"}\n')
    result = CliRunner().invoke(main, ["train", "sft", str(data), "--model", str(tiny_model),
                                       "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "needs a GPU" in result.output


@pytest.mark.parametrize("stage", ["grpo", "sft", "verifier", "pretrain", "reward-model"])
def test_a_missing_model_is_one_line_for_every_stage(stage, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"question": "q", "answer": "1", "problem": "p", "proof": "q", "grade": 1}\n')
    args = {"grpo": ["gym:basic_arithmetic:2"], "pretrain": ["--data", str(data)]}
    recipe = tmp_path / "cpu.yaml"
    section = stage.replace("-", "_")
    recipe.write_text(f"{section}:\n  use_cpu: true\n  bf16: false\n")
    cmd = ["train", stage, *args.get(stage, [str(data)]), "--recipe", str(recipe),
           "--model", str(tmp_path / "no-model"), "--out", str(tmp_path / "o")]  # fmt: skip
    result = CliRunner().invoke(main, cmd)
    assert result.exit_code == 2, result.output
    assert result.output == f"Error: --model {tmp_path / 'no-model'}: no such folder\n"
