"""Every shipped recipe builds its training arguments under the installed transformers and
TRL. CI runs this file twice: in the main environment (the newest transformers) and in a
second one with the oldest transformers the `vllm` extra allows (5.22.2, with TRL 1.16), where
`activation_checkpointing` does not exist yet. bf16 and vLLM are switched off here only
because this machine has no GPU; every other field is the recipe's own."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "verifier_train/recipes").glob("*.yaml"))
CPU = {"use_cpu": True, "bf16": False}


def builders():
    from verifier_train import grpo, pretrain, reward_model, sft
    from verifier_train.v2 import toy_generator, toy_prover, toy_verifier

    def grpo_args(recipe, out):
        return grpo.to_grpo_config(recipe, out, **CPU, use_vllm=False)

    grpo_section = (grpo.GRPORecipe, grpo_args)
    return {
        "grpo": grpo_section,
        "verifier": grpo_section,
        "meta_verifier": grpo_section,
        "generator": grpo_section,
        "sft": (sft.SFTRecipe, lambda r, out: sft.to_sft_config(r, out, **CPU)),
        "pretrain": (pretrain.PretrainRecipe,
                     lambda r, out: pretrain.to_pretrain_config(r, out, **CPU)),
        "reward_model": (reward_model.RewardModelRecipe,
                         lambda r, out: reward_model.to_training_args(r, out, **CPU)),
        "toy_prover": (toy_prover.ToyProverRecipe,
                       lambda r, out: toy_prover.sft_args(r.chunk_steps, r.batch,
                                                          r.learning_rate, r.seed, out)),
        "toy_generator": (toy_generator.ToyGeneratorRecipe,
                          lambda r, out: grpo_args(r.grpo(), out)),
        "toy_verifier": (toy_verifier.ToyVerifierRecipe,
                         lambda r, out: toy_prover.sft_args(r.stages[0].chunk_steps, r.batch,
                                                            r.learning_rate, r.seed, out,
                                                            r.stages[0].last_schedule)),
    }  # fmt: skip


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_every_training_section_builds_its_arguments(path, tmp_path):
    from verifier_train.recipe_yaml import read_recipe, section

    recipe, built = read_recipe(path), 0
    for name, (cls, build) in builders().items():
        if name in recipe:
            build(section(recipe, name, cls, path), tmp_path / name)
            built += 1
    assert built or path.name.startswith("iterate-"), f"{path.name}: no training section"
