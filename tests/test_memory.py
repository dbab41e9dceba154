"""The memory estimates written in the 7B recipes are what `verifier_train.memory` computes,
and its parts are the hand-computed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from verifier_train.memory import DEEPSEEK_MATH_7B, GIB, ModelShape, RunShape, estimate, table

RECIPES = Path(__file__).resolve().parents[1] / "verifier_train/recipes"
SHAPES = {
    "grpo-deepseekmath-7b.yaml": RunShape(8, 1536, ranks=8, reference_model=True,
                                          vllm_fraction=0.3),
    "grpo-deepseekmath-7b-lora.yaml": RunShape(4, 1536, sharded=False, trainable=63e6,
                                               vllm_fraction=0.3),
    "sft-deepseekmath-instruct.yaml": RunShape(4, 4096, ranks=8),
    "v2-deepseekmath-7b.yaml": RunShape(4, 4096, ranks=8, reference_model=True,
                                        vllm_fraction=0.3),
    "pretrain-deepseekmath-7b.yaml": RunShape(2, 4096, ranks=8),
    "reward-model-deepseekmath-7b.yaml": RunShape(4, 4096, ranks=8, output_width=2),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_recipe_comment_is_the_estimate(name):
    written = "\n".join("# " + line for line in table(DEEPSEEK_MATH_7B, SHAPES[name]).splitlines())
    assert written in (RECIPES / name).read_text()


def test_parts_by_hand():
    assert ModelShape().params == 6_910_365_696
    got = estimate(DEEPSEEK_MATH_7B, RunShape(2, 4096, ranks=8))
    tokens = 8192
    hand = {
        "weights+grads+optimizer": 6_910_365_696 * 16 / 8,
        "activation checkpoints": 30 * 4096 * 2 * tokens,  # 1.875 GiB
        "recomputed layer": (10 * 4096 + 4 * 11008) * 2 * tokens,  # 1.297 GiB
        "logits": 102_400 * 10 * tokens,  # 7.8125 GiB
    }
    for part, size in hand.items():
        assert got[part] == round(size / GIB, 1), part
    assert got["total"] == round(sum(hand.values()) / GIB, 1) == 23.9
    lora = estimate(DEEPSEEK_MATH_7B, RunShape(4, 1536, sharded=False, trainable=63e6))
    states = 63e6 * 16 + (6_910_365_696 - 63e6) * 2  # LoRA: 16 B trainable, 2 B frozen
    assert lora["weights+grads+optimizer"] == round(states / GIB, 1)
