"""DeepSeekMath-V2 rewards against hand-computed values, with judges behind the tests' fake backend
(the project's own Backend interface, answering each prompt with the texts of the first key
it contains)."""

from __future__ import annotations

import pytest
from conftest import FakeBackend

from prover.prompts import EVAL_CLOSING, EVAL_OPENING, META_CLOSING, META_OPENING, Templates
from verifier_train.v2.rewards import (
    Judge,
    JudgeConfig,
    generator_reward,
    generator_reward_value,
    meta_verifier_reward,
    score_reward,
    verifier_reward,
    verifier_reward_value,
)

TEMPLATES = Templates.load()


def analysis(score: str, issue: str = "No issues.") -> str:
    return f"{EVAL_OPENING}\n{issue}\n\n{EVAL_CLOSING} \\boxed{{{score}}}"


def meta(score: str) -> str:
    return f"{META_OPENING}\nThe issues are real.\n\n{META_CLOSING} \\boxed{{{score}}}"


def generation(self_score: str, solution: str = "Since 2 = 2, done.") -> str:
    return (f"## Solution\n{solution}\n\n## Self Evaluation\n{analysis(self_score)}")  # fmt: skip


@pytest.mark.parametrize(
    "r_format, predicted, target, r_meta, expected",
    [
        (1.0, 1.0, 1.0, 1.0, 1.0),
        (1.0, 0.5, 1.0, 1.0, 0.5),
        (1.0, 0.0, 1.0, 1.0, 0.0),
        (1.0, 0.5, 0.5, 0.5, 0.5),  # right score, issues half-confirmed
        (0.0, 1.0, 1.0, 1.0, 0.0),  # format failure
        (1.0, None, 0.0, 1.0, 0.0),  # unreadable score
        (1.0, 1.0, 5 / 7, 1.0, 1 - 2 / 7),  # a 5/7 human grade
    ],
)
def test_verifier_reward_formula(r_format, predicted, target, r_meta, expected):
    assert verifier_reward_value(r_format, predicted, target, r_meta) == pytest.approx(expected)


@pytest.mark.parametrize(
    "r_format, r_proof, self_score, r_meta, expected",
    [
        (1.0, 1.0, 1.0, 1.0, 1.0),  # 0.76 + 0.24
        (1.0, 0.5, 1.0, 1.0, 0.76 * 0.5 + 0.24 * 0.5),
        (1.0, 0.0, 0.0, 1.0, 0.24),  # honest about a wrong proof
        (1.0, 0.0, 1.0, 1.0, 0.0),  # claims 1 for a wrong proof
        (1.0, 0.75, 0.5, 0.5, 0.76 * 0.75 + 0.24 * 0.75 * 0.5),
        (0.0, 1.0, 1.0, 1.0, 0.0),
        (1.0, None, 1.0, 1.0, None),  # unverifiable: unscorable, not 0
        (1.0, 1.0, None, 1.0, 0.76),  # no readable self score
    ],
)
def test_generator_reward_formula(r_format, r_proof, self_score, r_meta, expected):
    got = generator_reward_value(r_format, r_proof, self_score, r_meta)
    assert got == (None if expected is None else pytest.approx(expected))


def test_score_reward():
    assert score_reward(0.5, 0.0) == 0.5 and score_reward(None, 1.0) == 0.0


def test_verifier_reward_function_with_meta_judge():
    judge = Judge(FakeBackend({"Gap in step 2": [meta("1"), meta("0")], "": [meta("1")]}),
                  TEMPLATES, JudgeConfig(samples=2))  # fmt: skip
    reward = verifier_reward(judge)
    completions = [
        analysis("1"),  # right, no issues: R_meta 1 without asking
        analysis("0", "Gap in step 2."),  # right score, issue confirmed by 1 of 2 metas
        "The proof is fine. \\boxed{1}",  # no format phrases
        analysis("0.5", "Gap in step 2."),
    ]
    got = reward(completions, problem=["P"] * 4, proof=["Q"] * 4, score=[1.0, 0.0, 1.0, 0.0])
    assert got == pytest.approx([1.0, 0.5, 0.0, 0.5 * 0.5])


def test_meta_verifier_reward_function():
    got = meta_verifier_reward([meta("1"), meta("0"), "no format \\boxed{1}"], [1.0, 1.0, 1.0])
    assert got == [1.0, 0.0, 0.0]


def test_generator_reward_function_batches_judges():
    verifier = FakeBackend({
        "Since 2 = 2": [analysis("1"), analysis("0.5")],  # R_proof 0.75
        "Wrong": [analysis("0"), analysis("0")],
        "Unreadable": ["no score here"],
    })  # fmt: skip
    metas = FakeBackend({"": [meta("1")]})
    reward = generator_reward(Judge(verifier, TEMPLATES, JudgeConfig(2)),
                              Judge(metas, TEMPLATES, JudgeConfig(1)))  # fmt: skip
    completions = [
        generation("1"),
        generation("0", "Wrong claim."),
        generation("1", "Unreadable stuff."),
        "no headers at all",
    ]
    got = reward(completions, problem=["P"] * 4)
    assert got == pytest.approx([0.76 * 0.75 + 0.24 * 0.75, 0.24, None, 0.0])
    assert len(verifier.calls) == len(metas.calls) == 1  # one backend call per judge per batch


def test_greedy_judge_asks_each_distinct_prompt_once():
    greedy = FakeBackend({"Wrong": analysis("0"), "": analysis("1")})
    judge = Judge(greedy, TEMPLATES, JudgeConfig(1, temperature=0.0))
    pairs = [("P", "Right."), ("P", "Wrong."), ("P", "Right."), ("Q", "Right.")]
    assert judge.verify(pairs) == [1.0, 0.0, 1.0, 1.0]
    assert len(greedy.calls[0].prompts) == 3  # the repeated (P, Right.) generated once
    assert (judge.asked, judge.generated) == (4, 3)
    sampled = FakeBackend({"": analysis("1")})
    Judge(sampled, TEMPLATES, JudgeConfig(1, temperature=1.0)).verify(pairs)
    assert len(sampled.calls[0].prompts) == 4  # samples of a repeat are drawn afresh


def test_a_faithful_check_zeroes_only_crediting_verifications_that_fail_it():
    backend = FakeBackend({"Wrong": analysis("1"), "Gap": analysis("0.5"), "": analysis("0")})
    judge = Judge(backend, TEMPLATES, JudgeConfig(1), lambda problem, proof, text: "Gap" in proof)
    pairs = [("P", "Wrong."), ("P", "Gap."), ("P", "Plain.")]
    assert judge.verify(pairs) == [0.0, 0.5, 0.0]
    assert judge.unfaithful == 1  # the 0 of "Plain." was never credit: not checked
    assert Judge(backend, TEMPLATES, JudgeConfig(1)).verify(pairs) == [1.0, 0.5, 0.0]


def test_a_judge_with_retries_verifies_again_a_proof_it_misquoted():
    # First call: every analysis misquotes ("slip"); retries: "Fixed." gets a faithful pass,
    # "Wrong." a faithful issue, "Lost." only misquotes again.
    def reply(prompt: str, i: int) -> str:
        if len(backend.calls) == 1:
            return analysis("0" if "Right" in prompt else "1", "slip")
        if "Lost" in prompt:
            return analysis("1", "slip")
        return analysis("0" if "Wrong" in prompt else "1")

    backend = FakeBackend(reply)
    config = JudgeConfig(1, temperature=0.0, retries=2, retry_temperature=0.6)
    judge = Judge(backend, TEMPLATES, config, lambda problem, proof, text: "slip" not in text)
    pairs = [("P", "Fixed."), ("P", "Wrong."), ("P", "Lost."), ("P", "Right.")]
    assert judge.verify(pairs) == [1.0, 0.0, 0.0, 1.0]  # "Right.": an issue it misquoted
    retry = backend.calls[1]
    assert (retry.n, retry.sampling.temperature, len(retry.prompts)) == (2, 0.6, 4)
    assert (judge.retried, judge.rescued) == (4, 3)


def test_sampled_probes_leave_the_training_rng_alone(tiny_model, tmp_path):
    """A probe run before training must not change the rollouts the trainer then samples, so a
    probed (verifier-rewarded) run and an unprobed (exact-reward) one share a random stream."""
    from types import SimpleNamespace

    import torch

    from prover.backends.base import Sampling
    from prover.backends.hf import HFBackend
    from verifier_train.v2.probes import ProbeCallback, probe_pairs

    backend = HFBackend(str(tiny_model), device="cpu")
    probes = ProbeCallback(TEMPLATES, probe_pairs(["Show 1 = 1."]), 1, backend, 2,
                           Sampling(1.0, max_tokens=4))  # fmt: skip
    args = SimpleNamespace(output_dir=str(tmp_path))
    state = SimpleNamespace(global_step=0, max_steps=1, is_world_process_zero=True)
    torch.manual_seed(0)
    probes.on_train_begin(args, state, None)
    after_probes = torch.rand(4)
    torch.manual_seed(0)
    assert torch.equal(after_probes, torch.rand(4))
    assert [h["step"] for h in probes.history] == [0]
