"""Verification throughput for `gpu_check.py`: one verification stage of the loop
(`prover.jobs.verification_jobs` + `run_jobs`) through the project's `hf` backend
(`HFBackend.from_loaded`) at several batch sizes, each stage one micro-batch of identical
prompts of a set length. Prefill and decode rates are reported against rooflines from the
measured matrix rate and copy bandwidth, and the largest batch's decode step is split into
kinds of kernel time with `torch.profiler`.

This module does NOT build models, use vLLM, or judge the verdicts (random models write
nonsense; only their token counts matter here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _gpu_models import Arch
from _gpu_roofline import decode_roofline, prefill_roofline, profiled_rows, split_by_kind

from prover.backends.base import Sampling, encode_prompt, user_chat
from prover.backends.hf import HFBackend
from prover.jobs import Job, run_jobs, verdict_record, verification_jobs
from prover.prompts import Templates

GIB = 1024**3
PROBLEM = (
    "Let $a$, $b$, $c$ be positive real numbers with $abc = 1$. "
    "Prove that $a^2 + b^2 + c^2 \\ge a + b + c$."
)
PROOF_LINES = (
    "By AM-GM, $a + b + c \\ge 3\\sqrt[3]{abc} = 3$, so $s = a + b + c \\ge 3$.",
    "By the QM-AM inequality, $a^2 + b^2 + c^2 \\ge \\frac{(a + b + c)^2}{3} = \\frac{s^2}{3}$.",
    "Since $s \\ge 3$, we have $\\frac{s^2}{3} = s \\cdot \\frac{s}{3} \\ge s$.",
    "Combining the two bounds gives $a^2 + b^2 + c^2 \\ge s = a + b + c$, as required.",
    "Equality needs $a = b = c$ and $s = 3$, that is $a = b = c = 1$, which satisfies $abc = 1$.",
)


@dataclass(frozen=True)
class VerifySizes:
    """Batch sizes (one micro-batch each), prompt and new tokens, decode steps profiled."""

    batches: tuple[int, ...]
    prompt_tokens: int
    new_tokens: int
    profile_steps: int


def prompt_length(templates: Templates, tokenizer: Any, proof: str) -> int:
    return len(encode_prompt(tokenizer, user_chat(templates.verification(PROBLEM, proof))))


def proof_for(templates: Templates, tokenizer: Any, target_tokens: int) -> str:
    """A proof (numbered steps, repeated) cut so that its verification prompt has as close to
    `target_tokens` tokens as whole characters allow (at least the bare template's length)."""
    lines, text = [], ""
    while prompt_length(templates, tokenizer, text) < target_tokens:
        lines.append(f"Step {len(lines) + 1}. {PROOF_LINES[len(lines) % len(PROOF_LINES)]}")
        text = "\n".join(lines)
    low, high = 0, len(text)  # the longest prefix that fits
    while low < high:
        mid = (low + high + 1) // 2
        fits = prompt_length(templates, tokenizer, text[:mid]) <= target_tokens
        low, high = (mid, high) if fits else (low, mid - 1)
    return text[:low]


def stage_jobs(templates: Templates, tokenizer: Any, batch: int, tokens: int) -> list[Job]:
    """One verification job for each of `batch` proofs, prompts of about `tokens` tokens."""
    proof = proof_for(templates, tokenizer, tokens)
    proofs = {f"proof-{i}": (PROBLEM, proof) for i in range(batch)}
    return verification_jobs(templates, proofs, n=1)


def run_stage(backend: HFBackend, jobs: list[Job], max_tokens: int) -> tuple[float, dict]:
    """(seconds, usage) of one verification stage, as the loop samples (temperature 1)."""
    sampling = Sampling(temperature=1.0, top_p=0.95, max_tokens=max_tokens, seed=0)
    records: list[dict] = []
    start = time.perf_counter()
    used = run_jobs(backend, jobs, sampling, verdict_record, records.extend)
    return time.perf_counter() - start, used


def _reset_peak(on_gpu: bool) -> None:
    if on_gpu:
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak_gib(on_gpu: bool) -> float | None:
    if not on_gpu:
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / GIB, 1)


def measure_batch(
    backend: HFBackend, jobs: list[Job], arch: Arch, sizes: VerifySizes, ceilings: dict
) -> dict:
    """Prefill (a stage of 1 new token, best of 2) and decode (a stage of `new_tokens`, less
    that prefill) rates of one batch, each against its roofline."""
    on_gpu = backend.device.startswith("cuda")
    _reset_peak(on_gpu)
    prefill_s = min(run_stage(backend, jobs, 1)[0] for _ in range(2))
    full_s, used = run_stage(backend, jobs, sizes.new_tokens)
    batch = len(jobs)
    prompt = used["prompt_tokens"] // batch
    decode_tokens = used["completion_tokens"] - batch  # each first token came with the prefill
    decode_s = full_s - prefill_s
    mean_context = prompt + sizes.new_tokens / 2
    element = next(backend.lm.parameters()).element_size()  # 2 in bf16
    kv_bytes = batch * mean_context * arch.kv_bytes_per_token(element)
    weights, bandwidth = element * arch.params, ceilings["copy_bytes_per_s"]
    prefill_tps = batch * prompt / prefill_s
    decode_tps = decode_tokens / decode_s
    prefill_top = prefill_roofline(arch.params, ceilings["matmul_flops"])
    decode_top = decode_roofline(weights, bandwidth, batch)
    decode_top_kv = decode_roofline(weights, bandwidth, batch, kv_bytes)
    return {
        "batch": batch,
        "bytes_per_param": element,
        "prompt_tokens": prompt,
        "completion_tokens": used["completion_tokens"],
        "prefill_s": round(prefill_s, 4),
        "stage_s": round(full_s, 3),
        "decode_step_ms": round(1e3 * decode_s / max(decode_tokens / batch, 1), 3),
        "prefill_tok_s": round(prefill_tps, 1),
        "prefill_roofline_tok_s": round(prefill_top, 1),
        "prefill_fraction": round(prefill_tps / prefill_top, 4),
        "decode_tok_s": round(decode_tps, 1),
        "decode_roofline_tok_s": round(decode_top, 1),
        "decode_fraction": round(decode_tps / decode_top, 4),
        "kv_bytes_per_step_mean": round(kv_bytes),
        "decode_roofline_with_kv_tok_s": round(decode_top_kv, 1),
        "decode_fraction_with_kv": round(decode_tps / decode_top_kv, 4),
        "peak_gib": _peak_gib(on_gpu),
    }


def profile_decode(backend: HFBackend, jobs: list[Job], steps: int) -> dict:
    """Kernel (GPU) or operator (CPU) seconds per decode step, by kind, over `steps` decode
    steps of one stage. The profiler steps from a hook before each forward: the prefill and
    the first decode step are left out, the next `steps` recorded."""
    from torch.profiler import ProfilerActivity, profile, schedule

    on_gpu = backend.device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    caught: dict[str, list] = {}
    stamps: list[float] = []
    plan = schedule(wait=2, warmup=1, active=steps, repeat=1)

    def ready(prof: Any) -> None:
        caught["rows"] = profiled_rows(prof, on_gpu)

    with profile(activities=activities, schedule=plan, on_trace_ready=ready) as prof:

        def hook(*_: Any) -> None:
            stamps.append(time.perf_counter())
            prof.step()

        handle = backend.lm.register_forward_pre_hook(hook)
        try:
            used = run_stage(backend, jobs, steps + 4)[1]
        finally:
            handle.remove()
    recorded = stamps[2 : steps + 3]  # forwards 3 .. steps+2 are recorded; then the next hook
    per_kind = {k: round(1e3 * s / steps, 3) for k, s in split_by_kind(caught["rows"]).items()}
    return {
        "steps": steps,
        "context_tokens": used["prompt_tokens"] // len(jobs) + 2 + steps // 2,
        "what": "CUDA kernel time" if on_gpu else "operator self CPU time",
        "ms_per_step_by_kind": per_kind,
        "ms_per_step_in_kernels": round(sum(per_kind.values()), 3),
        "ms_per_step_wall_profiled": round(1e3 * (recorded[-1] - recorded[0]) / steps, 3),
    }


def verification_throughput(
    model: Any,
    tokenizer: Any,
    arch: Arch,
    sizes: VerifySizes,
    ceilings: dict,
    seconds_left: Callable[[], float],
) -> dict:
    """Every batch size's rates (a batch is skipped when fewer seconds are left than twice the
    previous batch took), then a profile of the largest batch measured at its mean context."""
    templates = Templates.load()
    run_stage(
        HFBackend.from_loaded(model, tokenizer, 1), stage_jobs(templates, tokenizer, 1, 64), 4
    )
    rows, skipped, last_s = [], [], 0.0
    for batch in sizes.batches:
        if seconds_left() < 2 * last_s:
            skipped.append(batch)
            continue
        backend = HFBackend.from_loaded(model, tokenizer, batch_size=batch)
        start = time.perf_counter()
        jobs = stage_jobs(templates, tokenizer, batch, sizes.prompt_tokens)
        rows.append(measure_batch(backend, jobs, arch, sizes, ceilings))
        last_s = time.perf_counter() - start
    out: dict = {"batches": rows, "skipped_batches": skipped}
    if rows and seconds_left() > last_s / 2:
        batch = rows[-1]["batch"]
        mean = rows[-1]["prompt_tokens"] + sizes.new_tokens // 2
        backend = HFBackend.from_loaded(model, tokenizer, batch_size=batch)
        profile = profile_decode(
            backend, stage_jobs(templates, tokenizer, batch, mean), sizes.profile_steps
        )
        out["profile"] = {"batch": batch, **profile}
    return out
