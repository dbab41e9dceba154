"""The short table `gpu_check.py` prints last, from its results dict (the JSON it writes).

This module does NOT measure anything; it only formats what was measured.
"""

from __future__ import annotations

LOW_DECODE_FRACTION = 0.30  # below this at the largest batch, say where the decode time goes


def _pct(value: float) -> str:
    return f"{100 * value:5.1f}%"


def si(value: float, unit: str) -> str:
    """`value` with an SI prefix: 7.9e14, "FLOP/s" -> "790 TFLOP/s"."""
    for prefix, scale in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def count(value: float) -> str:
    """A parameter count: 6.91B, 0.59M."""
    return f"{value / 1e9:.2f}B" if value >= 1e8 else f"{value / 1e6:.2f}M"


def header(results: dict) -> list[str]:
    env, ceil = results["environment"], results["ceilings"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    return [
        f"== GPU check ({results['plan']} plan) on {env['device']}, {env['date']}: {versions} ==",
        f"ceilings: matmul {si(ceil['matmul_flops'], 'FLOP/s')} ({ceil['matmul']}); "
        f"copy {si(ceil['copy_bytes_per_s'], 'B/s')} ({ceil['copy']})",
    ]


def verification_lines(verify: dict, ceil: dict) -> list[str]:
    """The per-batch table and the two roofline formulas with their numbers."""
    sizes, params = verify["sizes"], verify["params"]
    lines = [
        f"verification stage through the hf backend: {verify['model']} ({count(params)} "
        f"params, random {verify['dtype']}), prompt {verify['batches'][0]['prompt_tokens']} "
        f"tokens, {sizes['new_tokens']} new, temperature 1"
        if verify["batches"]
        else "verification stage: no batch measured",
        " batch | prefill tok/s  roofline  frac | decode tok/s  roofline  frac  w/KV | "
        "step ms  peak GiB",
    ]
    for row in verify["batches"]:
        lines.append(
            f"{row['batch']:6d} | {row['prefill_tok_s']:13.0f} {row['prefill_roofline_tok_s']:9.0f}"
            f" {_pct(row['prefill_fraction'])} | {row['decode_tok_s']:12.1f}"
            f" {row['decode_roofline_tok_s']:9.0f} {_pct(row['decode_fraction'])}"
            f" {_pct(row['decode_fraction_with_kv'])} | {row['decode_step_ms']:7.1f}"
            f"  {row['peak_gib'] if row['peak_gib'] is not None else '-':>8}"
        )
    if verify["skipped_batches"]:
        lines.append(f"skipped for time: batch {verify['skipped_batches']}")
    element = verify["batches"][0]["bytes_per_param"] if verify["batches"] else 2
    flop, weights = 2 * params, element * params  # FLOP per token; bytes read per step
    flops, bandwidth = ceil["matmul_flops"], ceil["copy_bytes_per_s"]
    kv_token = 2 * verify["layers"] * verify["hidden"] * element
    lines += [
        f"prefill roofline = matmul rate / (2 x params FLOP per token) = {si(flops, 'FLOP/s')}"
        f" / {si(flop, 'FLOP')} = {flops / flop:,.0f} tok/s",
        f"decode roofline = batch x copy bandwidth / ({element} bytes x params of weights read per "
        f"step) = batch x {si(bandwidth, 'B/s')} / {si(weights, 'B')} = batch x "
        f"{bandwidth / weights:,.1f} tok/s; w/KV: the bytes read per step also count the cached"
        f" keys and values, batch x mean context x {kv_token:,} B",
    ]
    return lines + profile_lines(verify)


def profile_lines(verify: dict) -> list[str]:
    """Where a decode step of the largest batch goes, and a note when it is far from the
    roofline."""
    profile = verify.get("profile")
    if not profile:
        return ["decode step not profiled (time budget)"] if verify["batches"] else []
    row = next(r for r in verify["batches"] if r["batch"] == profile["batch"])
    kinds = ", ".join(f"{k} {ms:.1f}" for k, ms in profile["ms_per_step_by_kind"].items())
    gap = row["decode_step_ms"] - profile["ms_per_step_in_kernels"]
    idle = (
        "with no kernel running (GPU idle: host-side Python, launches, syncs)"
        if "CUDA" in profile["what"]
        else "outside the profiled operators"
    )
    lines = [
        f"decode step at batch {profile['batch']}, context ~{profile['context_tokens']}, "
        f"{profile['steps']} steps under torch.profiler ({profile['what']}, ms per step): "
        f"{kinds}; sum {profile['ms_per_step_in_kernels']:.1f} of a {row['decode_step_ms']:.1f}"
        f" ms step (unprofiled), {gap:.1f} ms {idle}",
    ]
    if row["decode_fraction"] < LOW_DECODE_FRACTION:
        top = max(profile["ms_per_step_by_kind"].items(), key=lambda item: item[1])
        lines.append(
            f"note: decode at batch {row['batch']} reaches {_pct(row['decode_fraction']).strip()}"
            f" of the weights-only roofline ({_pct(row['decode_fraction_with_kv']).strip()} with"
            f" the KV cache read counted); the largest measured share of the step is {top[0]}"
            f" ({top[1]:.1f} ms of {row['decode_step_ms']:.1f})"
        )
    return lines


def grpo_lines(runs: list[dict]) -> list[str]:
    lines = [
        "GRPO steps (verifier_train.grpo.build_trainer, beta 0.04, loss grpo; mean of the steps"
        " after the first, seconds)",
        " model       params | step  generation  reward  logprobs  update | peak GiB  estimate",
    ]
    for r in runs:
        if "skipped" in r:
            lines.append(f" {r.get('model', 'grpo')}: skipped ({r['skipped']})")
            continue
        peak = r.get("peak_allocated_gib")
        lines.append(
            f" {r['model']:<11} {count(r['params']):>6} | {r['step_s']:5.2f} "
            f"{r['generation_s']:11.2f} {r['reward_s']:7.3f} {r['logprobs_and_advantages_s']:9.2f}"
            f" {r['update_s']:7.2f} | {peak if peak is not None else '-':>8}"
            f"  {r['estimate_gib']['total']:8.1f}"
        )
    return lines


def report(results: dict) -> str:
    lines = header(results)
    lines += verification_lines(results["verification"], results["ceilings"])
    lines += grpo_lines(results.get("grpo", []))
    lines.append(f"total {results['seconds']:.0f} s")
    return "\n".join(lines)
