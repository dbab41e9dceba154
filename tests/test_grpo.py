"""GRPO stage: process-supervision advantages by hand, the answer reward, and a few real
TRL GRPOTrainer steps on the tiny Llama on CPU (outcome and process rewards)."""

from __future__ import annotations

import math

import pytest
import torch

from verifier_train.grpo import (
    GRPORecipe,
    build_trainer,
    normalize_step_rewards,
    process_advantages,
    process_reward,
    to_grpo_config,
)
from verifier_train.rewards import answer_reward, completion_text

TINY = dict(
    num_generations=4,
    per_device_train_batch_size=4,
    gradient_accumulation_steps=1,
    max_completion_length=8,
    learning_rate=1e-3,
    use_cpu=True,
    logging_steps=1,
    save_steps=1000,
)


def test_process_advantages_hand_computed():
    # Group 1: step rewards {2, 1, 0}: mean 1, unbiased std 1 -> normalized +1, 0, -1.
    # Group 2: {5, 3}: mean 4, unbiased std sqrt(2) -> +-1/sqrt(2); c3 is unscorable.
    steps = [[(1, 2.0), (3, 1.0)], [(2, 0.0)], [(0, 5.0), (9, 3.0)], None]
    lengths = [5, 3, 2, 4]
    r = 1 / math.sqrt(2)
    expected = torch.tensor(
        [
            [1.0, 1.0, 0.0, 0.0, 0.0],  # +1 (ends at 1) + 0 (ends at 3); nothing after token 3
            [-1.0, -1.0, -1.0, 0.0, 0.0],  # -1 ends at 2 = its last token; then padding
            [r - r, -r, 0.0, 0.0, 0.0],  # +r ends at 0; -r ends past the end -> on token 1
            [0.0, 0.0, 0.0, 0.0, 0.0],  # unscorable: no steps, no advantage
        ]
    )
    got = process_advantages(steps, lengths, group_size=2)
    assert got.shape == (4, 5)
    torch.testing.assert_close(got, expected, atol=1e-3, rtol=0)


def test_process_advantages_unscaled_and_errors():
    got = process_advantages([[(0, 1.0), (1, 3.0)]], [2], scale=False)  # mean 2
    torch.testing.assert_close(got, torch.tensor([[0.0, 1.0]]))
    assert normalize_step_rewards([[(0, float("nan"))], [(0, 1.0)]], 2)[0] == []
    with pytest.raises(ValueError, match="groups of 3"):
        process_advantages([None, None], [1, 1], group_size=3)
    with pytest.raises(ValueError, match=">= 0"):
        process_advantages([[(-1, 1.0)]], [1])


def test_answer_reward_strings_and_messages():
    completions = [
        "So the answer is \\boxed{4}.",
        [{"role": "assistant", "content": "Thus \\boxed{5}."}],
        "",
        "The answer is \\boxed{\\frac{1}{2}}",
    ]
    assert completion_text(completions[1]) == "Thus \\boxed{5}."
    assert answer_reward(completions, answer=["4", "4", "4", "0.5"]) == [1.0, 0.0, None, 1.0]
    assert answer_reward(["\\boxed{1}"], answer=[None]) == [None]


def test_recipe_maps_to_grpo_config(tmp_path):
    pytest.importorskip("trl")
    config = to_grpo_config(GRPORecipe(), tmp_path, use_cpu=True)
    assert (config.beta, config.loss_type, config.epsilon) == (0.04, "grpo", 0.2)
    assert (config.num_generations, config.max_completion_length) == (64, 1024)
    assert config.learning_rate == 1e-6 and config.scale_rewards == "group"


def _dataset(conversational: bool):
    from datasets import Dataset

    questions = ["What is 2+2?", "What is 3+1?", "Let x be 1.", "Then x^2 is?"]
    if conversational:
        prompts = [[{"role": "user", "content": q}] for q in questions]
    else:
        prompts = questions
    return Dataset.from_dict({"prompt": prompts, "answer": ["4", "4", "1", "1"]})


def length_reward(completions, **_) -> list[float]:
    """A toy outcome reward with spread, so advantages are not all zero."""
    return [len(completion_text(c)) / 50 for c in completions]


@process_reward
def every_third_token(completion_ids, **_) -> list[list[tuple[int, float]] | None]:
    """Toy process reward: a step every 3 tokens, scored by its token ids."""
    return [
        [(end, float(sum(ids[: end + 1]) % 3)) for end in range(2, len(ids) + 2, 3)] or None
        for ids in completion_ids
    ]


def _params(trainer) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in trainer.model.parameters()])


def test_grpo_outcome_rewards_on_tiny_model(tiny_model, tmp_path):
    pytest.importorskip("trl")
    recipe = GRPORecipe(**TINY, max_steps=3)
    trainer = build_trainer(
        tiny_model, _dataset(True), [answer_reward, length_reward], recipe, tmp_path
    )
    before = _params(trainer)
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logs) == 3
    assert all("kl" in entry and math.isfinite(entry["loss"]) for entry in logs)
    assert "rewards/answer_reward/mean" in logs[0]
    assert trainer.last_advantage_shape == (4,)  # stock per-sequence advantages
    assert not torch.equal(before, _params(trainer))


def test_grpo_process_rewards_on_tiny_model(tiny_model, tmp_path):
    pytest.importorskip("trl")
    recipe = GRPORecipe(**TINY, max_steps=2)
    trainer = build_trainer(
        tiny_model, _dataset(False), [length_reward, every_third_token], recipe, tmp_path
    )
    seen: list[torch.Size] = []
    compute_loss = trainer._compute_loss

    def spy(model, inputs):
        seen.append(inputs["advantages"].shape)
        return compute_loss(model, inputs)

    trainer._compute_loss = spy
    trainer.train()
    logs = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert len(logs) == 2 and all(math.isfinite(entry["loss"]) for entry in logs)
    assert all(len(shape) == 2 and shape[0] == 4 for shape in seen)
    assert "rewards/every_third_token/mean" in logs[0]
    assert "process_advantage_abs_mean" in logs[0]
    assert float(trainer.reward_weights[1]) == 0.0  # kept out of TRL's per-sequence advantage


def _completions_seen(tiny_model, tmp_path, reseed: bool, stray_draws: int) -> list[list[str]]:
    """Each step's completions of a run whose reward is 0 (the policy never moves) and draws
    `stray_draws` random numbers of its own, as a judge that samples would."""
    seen: list[list[str]] = []

    def flat_reward(completions, **_) -> list[float]:
        seen.append([completion_text(c) for c in completions])
        torch.rand(stray_draws)
        return [0.0] * len(completions)

    recipe = GRPORecipe(**TINY, max_steps=3, reseed_generation=reseed)
    build_trainer(tiny_model, _dataset(False), [flat_reward], recipe, tmp_path).train()
    return seen


def test_reseeded_generation_keeps_two_runs_on_one_stream(tiny_model, tmp_path):
    pytest.importorskip("trl")
    # Reseeded: a run whose reward draws random numbers samples what the other one does.
    plain = _completions_seen(tiny_model, tmp_path / "a", True, 0)
    drawing = _completions_seen(tiny_model, tmp_path / "b", True, 5)
    assert len(plain) == 3 and plain == drawing
    # Not reseeded (TRL's own behaviour): the stray draws shift every later step's samples.
    plain = _completions_seen(tiny_model, tmp_path / "c", False, 0)
    drawing = _completions_seen(tiny_model, tmp_path / "d", False, 5)
    assert plain[0] == drawing[0] and plain[1:] != drawing[1:]


def test_generation_seed_is_distinct_per_step_call_and_mode():
    from verifier_train.grpo import generation_seed

    seeds = {generation_seed(0, s, c, t) for s in range(50) for c in range(3) for t in (0, 1)}
    assert len(seeds) == 300
    assert generation_seed(1, 0, 0, True) != generation_seed(0, 0, 0, True)
