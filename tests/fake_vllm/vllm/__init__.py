"""A stand-in for the `vllm` package: the API surface `prover.backends.vllm` uses, with the
checks vLLM 0.34 makes, so the backend's logic is tested without a GPU.

Read from vLLM's source (`vllm/sampling_params.py`, `vllm/entrypoints/llm.py`,
`vllm/outputs.py`): `SamplingParams` rejects n > 1 with greedy sampling ("n must be 1 when
using greedy sampling"), a temperature above 2 and top_p outside (0, 1]; `LLM.generate` takes
one SamplingParams or one per prompt and returns one RequestOutput per prompt, in order, whose
`outputs` are CompletionOutputs (`text`, `token_ids`, `finish_reason`). A sample here is a
pure function of (request seed, prompt, sample index), as vLLM's seeded sampling is of
(seed, token position): equal seeds give equal samples. `FINISH` forces a finish reason.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

FINISH: dict[str, str] = {}  # prompt text -> the finish reason to report for it
CALLS: list[list] = []  # the SamplingParams of every generate call


@dataclass
class SamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    stop: list[str] | None = None

    def __post_init__(self) -> None:
        if self.temperature < 1e-5 and self.n > 1:
            raise ValueError("n must be 1 when using greedy sampling.")
        if not 0.0 <= self.temperature <= 2.0:
            raise ValueError(f"temperature must be in [0, 2], got {self.temperature}.")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}.")


@dataclass
class CompletionOutput:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None


@dataclass
class RequestOutput:
    prompt_token_ids: list[int]
    outputs: list[CompletionOutput] = field(default_factory=list)


class _Config:
    max_model_len = 4096


class _Engine:
    model_config = _Config()


class LLM:
    def __init__(self, model: str, **kwargs) -> None:
        from transformers import AutoTokenizer

        self.kwargs = kwargs
        self._tokenizer = AutoTokenizer.from_pretrained(model)
        self.llm_engine = _Engine()

    def get_tokenizer(self):
        return self._tokenizer

    def generate(self, prompts, params, use_tqdm: bool = True) -> list[RequestOutput]:
        params = params if isinstance(params, list) else [params] * len(prompts)
        CALLS.append(params)
        return [self._one(p["prompt_token_ids"], sp) for p, sp in zip(prompts, params, strict=True)]

    def _one(self, ids: list[int], sp: SamplingParams) -> RequestOutput:
        text = self._tokenizer.decode(ids)
        outs = []
        for k in range(sp.n):
            seed = random.randrange(2**31) if sp.seed is None and sp.temperature > 0 else sp.seed
            digest = hashlib.sha256(f"{seed}|{text}|{k}|{sp.temperature}".encode()).hexdigest()
            finish = FINISH.get(text.strip(), "stop")
            outs.append(CompletionOutput(k, f"sample {digest[:12]}", [1, 2, 3], finish))
        return RequestOutput(ids, outs)
