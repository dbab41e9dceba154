"""The vLLM backend's own logic against a stand-in `vllm` (tests/fake_vllm) that checks what
vLLM 0.34 checks: greedy sampling with n > 1, one seed per request so that copies of a prompt
are distinct samples, and finish reasons kept true."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from prover.backends.base import Sampling
from prover.parse import parse_verdict

FAKE = Path(__file__).with_name("fake_vllm")


@pytest.fixture
def vllm_backend(tiny_model, monkeypatch):
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    from prover.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(tiny_model))
    yield backend
    sys.modules.pop("vllm", None)


def test_greedy_with_several_samples_returns_copies_as_hf_does(vllm_backend):
    out = vllm_backend.generate(["a", "b"], 4, Sampling(temperature=0, max_tokens=8))
    assert [len(cs) for cs in out] == [4, 4]
    assert all(len({c.text for c in cs}) == 1 for cs in out)
    import vllm

    assert all(p.n == 1 and p.top_p == 1.0 for p in vllm.CALLS[-1])


def test_copies_of_one_prompt_draw_distinct_samples_with_a_seed(vllm_backend):
    """A resumed stage sends the prompt it still needs k times with n = 1."""
    sampling = Sampling(temperature=1.0, max_tokens=8, seed=3)
    out = vllm_backend.generate(["same prompt"] * 4, 1, sampling)
    assert len({cs[0].text for cs in out}) == 4
    again = vllm_backend.generate(["same prompt"] * 4, 1, sampling)
    assert [cs[0].text for cs in again] == [cs[0].text for cs in out]  # reproducible


def test_abort_and_error_are_not_recorded_as_truncation(vllm_backend):
    import vllm

    vllm.FINISH.update({"cut": "length", "gone": "abort", "bad": "error"})
    out = vllm_backend.generate(["cut", "gone", "bad", "fine"], 1, Sampling(max_tokens=8))
    assert [cs[0].finish_reason for cs in out] == ["length", "abort", "error", "stop"]
    reasons = [parse_verdict(cs[0].text, cs[0].finish_reason).reason for cs in out]
    assert reasons[1] == "generation ended by the engine (abort)"
    assert reasons[2] == "generation ended by the engine (error)"


@pytest.mark.parametrize(
    ("option", "value"), [("--temperature", "2.5"), ("--top-p", "0"), ("--temperature", "-1")]
)
def test_sampling_ranges_vllm_rejects_are_refused_by_the_cli(option, value):
    from click.testing import CliRunner

    from prover.cli import main

    result = CliRunner().invoke(main, ["solve", "problem.tex", option, value])
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output


def test_two_in_process_engines_split_the_memory_share(
    tiny_model, tiny_model_no_template, monkeypatch
):
    monkeypatch.syspath_prepend(str(FAKE))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    from prover.cli.options import build_backends

    opts = {"backend": "vllm", "model": str(tiny_model), "base_url": None, "dtype": "auto",
            "verifier_model": str(tiny_model_no_template), "verifier_base_url": None,
            "gpu_memory": 0.8, "tensor_parallel_size": 2}  # fmt: skip
    generator, verifier = build_backends(opts)
    shares = [b.llm.kwargs["gpu_memory_utilization"] for b in (generator, verifier)]
    assert shares == [0.4, 0.4]
    assert generator.llm.kwargs["tensor_parallel_size"] == 2
    alone, same = build_backends(opts | {"verifier_model": None})
    assert alone is same and alone.llm.kwargs["gpu_memory_utilization"] == 0.8
    sys.modules.pop("vllm", None)
