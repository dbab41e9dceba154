"""The in-process transformers backend on the tiny random model, and backend selection."""

from __future__ import annotations

import importlib.util

import pytest

from prover.backends import Sampling, deepseek_math_chat, make_backend
from prover.errors import BackendError, MissingExtraError

CHAT = [{"role": "user", "content": "Prove that 1 + 1 = 2."}]


@pytest.fixture(scope="module")
def hf(tiny_model):
    return make_backend("hf", str(tiny_model))


def test_shapes_counts_and_finish_reasons(hf):
    out = hf.generate([CHAT, "a raw prompt", CHAT], n=3, sampling=Sampling(max_tokens=12, seed=0))
    assert [len(x) for x in out] == [3, 3, 3]
    for completions in out:
        for c in completions:
            assert isinstance(c.text, str) and c.prompt_tokens > 0
            assert 1 <= c.completion_tokens <= 12
            assert c.finish_reason in ("stop", "length")
            if c.finish_reason == "length":
                assert c.completion_tokens == 12  # EOS, when sampled, is counted too


def test_seed_makes_sampling_repeatable(hf):
    sampling = Sampling(max_tokens=8, seed=123)
    first = hf.generate([CHAT, "x"], n=2, sampling=sampling)
    assert hf.generate([CHAT, "x"], n=2, sampling=sampling) == first


def test_greedy_samples_are_identical(hf):
    [completions] = hf.generate([CHAT], n=3, sampling=Sampling(temperature=0, max_tokens=8))
    assert len({c.text for c in completions}) == 1


def test_prompt_longer_than_context_is_a_value(hf):
    long_prompt = "x " * 5000  # the tiny model's context is 4096 tokens
    out = hf.generate([long_prompt, CHAT], n=2, sampling=Sampling(max_tokens=4))
    assert [c.finish_reason for c in out[0]] == ["prompt_too_long"] * 2
    assert all(c.text == "" for c in out[0]) and len(out[1]) == 2


def test_samples_are_reported_batch_by_batch(tiny_model):
    backend = make_backend("hf", str(tiny_model), batch_size=2)
    seen = []
    out = backend.generate(
        [CHAT, "x " * 5000, CHAT], n=2, sampling=Sampling(max_tokens=2), on_samples=seen.append
    )
    # the too-long prompt first, then two micro-batches of two samples
    assert [len(batch) for batch in seen] == [2, 2, 2]
    assert {c.finish_reason for _, c in seen[0]} == {"prompt_too_long"}
    reported = sorted((i, c.text) for batch in seen for i, c in batch)
    assert reported == sorted((i, c.text) for i, cs in enumerate(out) for c in cs)


def test_chat_template_or_deepseek_format(tiny_model, tiny_model_no_template):
    with_template = make_backend("hf", str(tiny_model))
    plain = make_backend("hf", str(tiny_model_no_template))
    text = plain.tokenizer.decode(plain.encode(CHAT), skip_special_tokens=True)
    assert text == deepseek_math_chat(CHAT) == "User: Prove that 1 + 1 = 2.\n\nAssistant:"
    assert with_template.tokenizer.decode(with_template.encode(CHAT)) == CHAT[0]["content"]


def test_unloadable_model_names_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackendError, match=r"HF_HUB_OFFLINE is set.*--model DIR") as info:
        make_backend("hf", "no-such-org/no-such-model")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_without_extra_gives_install_hint():
    with pytest.raises(MissingExtraError, match=r"pip install 'prover\[vllm\]'"):
        make_backend("vllm", "some/model")


def test_unknown_backend_and_missing_base_url():
    with pytest.raises(BackendError, match="unknown backend"):
        make_backend("tgi", "m")
    with pytest.raises(BackendError, match="--base-url"):
        make_backend("openai", "m")


def test_auto_device_gives_each_launched_rank_its_own_gpu(monkeypatch):
    from prover.backends.hf import auto_device

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert (auto_device(False), auto_device(True)) == ("cpu", "cuda")
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert (auto_device(False), auto_device(True)) == ("cpu", "cuda:3")
