"""Training arguments under the transformers a `vllm` environment pins: a field today's
transformers has but an older one lacks is passed under its older name (issue: every GRPO
run failed under transformers 5.22 with "unexpected keyword argument
'activation_checkpointing'")."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from verifier_train.train_args import build_args

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Transformers522Args:
    """The shape of `TrainingArguments` before 5.23: no `activation_checkpointing`."""

    output_dir: str
    gradient_checkpointing: bool = False
    learning_rate: float = 5e-5


def test_todays_name_becomes_the_older_one_where_the_class_lacks_it():
    args = build_args(Transformers522Args, "out", {"activation_checkpointing": True,
                                                    "learning_rate": 1e-6})  # fmt: skip
    assert args == Transformers522Args("out", gradient_checkpointing=True, learning_rate=1e-6)


def test_an_unknown_field_still_fails_loudly():
    with pytest.raises(TypeError, match="no_such_field"):
        build_args(Transformers522Args, "out", {"no_such_field": 1})


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "verifier_train/recipes").glob(
    "grpo-*.yaml")))  # fmt: skip
def test_shipped_grpo_recipes_build_under_the_older_fields(name, tmp_path, monkeypatch):
    """Every shipped GRPO recipe, with GRPOConfig seen as transformers 5.22 shows it."""
    import trl

    from verifier_train import train_args
    from verifier_train.grpo import GRPORecipe, to_grpo_config
    from verifier_train.recipe_yaml import read_recipe, section

    real_config, real_fields = trl.GRPOConfig, dataclasses.fields
    seen: dict = {}

    def capture(**kwargs):
        seen.update(kwargs)
        return kwargs

    def older(cls):  # GRPOConfig as transformers 5.22 shows it; every other class as it is
        if cls is not capture:
            return real_fields(cls)
        return tuple(f for f in real_fields(real_config) if f.name != "activation_checkpointing")

    monkeypatch.setattr(train_args.dataclasses, "fields", older)
    monkeypatch.setattr(trl, "GRPOConfig", capture)
    path = ROOT / "verifier_train/recipes" / name
    recipe = section(read_recipe(path), "grpo", GRPORecipe, path)
    to_grpo_config(recipe, tmp_path, use_cpu=True, bf16=False, use_vllm=False)
    assert "activation_checkpointing" not in seen
    assert seen["gradient_checkpointing"] == recipe.activation_checkpointing


def test_a_prompt_and_completion_longer_than_the_engine_context_is_one_line(tmp_path):
    from prover.errors import InputError
    from verifier_train.grpo import GRPORecipe, to_grpo_config

    recipe = GRPORecipe(use_vllm=True, vllm_max_model_length=4096, max_prompt_length=6144,
                        max_completion_length=2048, use_cpu=True)  # fmt: skip
    with pytest.raises(InputError, match="8192 tokens do not fit vllm_max_model_length 4096"):
        to_grpo_config(recipe, tmp_path)
    fits = GRPORecipe(use_vllm=True, vllm_max_model_length=8192, max_prompt_length=6144,
                      max_completion_length=2048, use_cpu=True, num_generations=2,
                      per_device_train_batch_size=2, gradient_accumulation_steps=1)  # fmt: skip
    assert to_grpo_config(fits, tmp_path, use_vllm=False).vllm_max_model_length == 8192


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5e-5", 5e-5), ("5.0e-5", 5e-5), ("1", 1.0), ("'2e-4'", 2e-4)],
)
def test_a_learning_rate_written_without_a_dot_is_a_number(text, expected, tmp_path):
    """PyYAML reads `5e-5` as the string '5e-5'; the recipe's float field gets the number."""
    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section

    path = tmp_path / "r.yaml"
    path.write_text(f"grpo:\n  learning_rate: {text}\n  max_steps: '3'\n")
    recipe = section(read_recipe(path), "grpo", GRPORecipe, path)
    assert recipe.learning_rate == expected and isinstance(recipe.learning_rate, float)
    assert recipe.max_steps == 3


@pytest.mark.parametrize("text", ["fast", "[1, 2]", "true"])
def test_a_setting_that_is_not_a_number_is_one_line(text, tmp_path):
    from prover.errors import InputError
    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section

    path = tmp_path / "r.yaml"
    path.write_text(f"grpo:\n  learning_rate: {text}\n")
    with pytest.raises(InputError, match=r"grpo\.learning_rate must be a number"):
        section(read_recipe(path), "grpo", GRPORecipe, path)
