"""The GPU check: the project's real-size paths measured on one CUDA GPU (an H200) in one
command of under 8 minutes, or the same code at tiny sizes on a CPU in under a minute.

    python benchmarks/gpu_check.py [--out runs/gpu_check.json]   # a CUDA GPU: real sizes
    python benchmarks/gpu_check.py --cpu                         # tiny sizes on a CPU (CI)

It measures, in one run:
- the ceilings: a bf16 matrix product's FLOP/s and a device-to-device copy's bytes/s;
- one verification stage of the loop (`prover.jobs.verification_jobs` + `run_jobs`) through the
  `hf` backend (`HFBackend.from_loaded`) on the DeepSeekMath 7B architecture with random bf16
  weights, at batch 1, 8, 32 and 64, prompts of 2,048 tokens, 512 new tokens: prefill and
  decode tokens/s, each as a fraction of its roofline (the formulas are printed with them),
  and, for the largest batch, the decode step's kernel time by kind (`torch.profiler`);
- GRPO steps of the project's stage (`verifier_train.grpo.build_trainer`) on the tiny model
  and on a 1.2B model of the same family (random bf16 weights, which TRL loads in float32 and
  trains under bf16 autocast): seconds per step split into generation, reward, log-probs and
  the update, and the peak GPU memory beside `verifier_train.memory.estimate`.
It prints a table last and writes every figure as JSON (`--out`), after each part, so a run
cut short still leaves what it measured. Parts are skipped, and said to be, when the time
budget (`--budget-s`) runs short.

The GPU machine has torch and transformers but no trl and no network: carry trl, datasets,
dill, multiprocess, fsspec and pyarrow as wheels, install them with `pip install --no-deps
--target DIR`, and put DIR on PYTHONPATH. The script puts its checkout on `sys.path`, so the
project need not be installed there.

This script does NOT use vLLM (it does not fit the machine's carry limit), load real weights,
use more than one GPU, or run `prover solve --model toy` (no built-in toy model exists yet).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True")
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the checkout, if not installed

from _gpu_grpo import GRPOSizes  # noqa: E402
from _gpu_models import (  # noqa: E402
    DEEPSEEK_MATH_7B_ARCH,
    ONE_B_ARCH,
    SMALL_ARCH,
    TINY_VERIFY_ARCH,
    Arch,
)
from _gpu_report import report, si  # noqa: E402
from _gpu_roofline import copy_bandwidth, matmul_rate  # noqa: E402
from _gpu_verify import VerifySizes  # noqa: E402

from prover.cli.options import quiet_transformers  # noqa: E402

STARTED = time.monotonic()
GIB = 1024**3


@dataclass(frozen=True)
class Plan:
    """Everything one run measures, and at what size."""

    device: str
    dtype: str
    matmul_n: int
    copy_bytes: int
    verify_arch: Arch
    verify: VerifySizes
    grpo_big: Arch  # the tiny model (prover.tiny) runs first, then this one
    grpo_tiny: GRPOSizes
    grpo_big_sizes: GRPOSizes
    budget_s: float
    grpo_reserve_s: float  # kept for the GRPO part while the verification part runs


GPU_PLAN = Plan(
    device="cuda",
    dtype="bfloat16",
    matmul_n=8192,
    copy_bytes=2 * GIB,
    verify_arch=DEEPSEEK_MATH_7B_ARCH,
    verify=VerifySizes(batches=(1, 8, 32, 64), prompt_tokens=2048, new_tokens=512, profile_steps=8),
    grpo_big=ONE_B_ARCH,
    grpo_tiny=GRPOSizes(generations=8, prompt_tokens=128, completion_tokens=128, steps=3),
    grpo_big_sizes=GRPOSizes(generations=8, prompt_tokens=256, completion_tokens=512, steps=3),
    budget_s=420.0,
    grpo_reserve_s=150.0,
)
CPU_PLAN = Plan(
    device="cpu",
    dtype="float32",
    matmul_n=256,
    copy_bytes=4 * 1024**2,
    verify_arch=TINY_VERIFY_ARCH,
    verify=VerifySizes(batches=(1, 4), prompt_tokens=0, new_tokens=64, profile_steps=2),
    grpo_big=SMALL_ARCH,
    grpo_tiny=GRPOSizes(generations=4, prompt_tokens=16, completion_tokens=8, steps=2),
    grpo_big_sizes=GRPOSizes(generations=4, prompt_tokens=16, completion_tokens=8, steps=2),
    budget_s=50.0,
    grpo_reserve_s=20.0,
)


def seconds_left(plan: Plan, reserve: float = 0.0) -> Callable[[], float]:
    """Seconds of the run's budget left, less `reserve`, counted from the script's start."""
    return lambda: plan.budget_s - reserve - (time.monotonic() - STARTED)


def environment(plan: Plan) -> dict:
    """Where and with what the figures were measured."""
    import platform
    from importlib import metadata

    import torch

    versions = {}
    for name in ("torch", "transformers", "trl", "accelerate", "datasets"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    on_gpu = plan.device == "cuda"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "device": torch.cuda.get_device_name() if on_gpu else f"cpu ({os.cpu_count()} cores)",
        "python": platform.python_version(),
        "versions": versions,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }


def ceilings(plan: Plan) -> dict:
    """The matrix-product rate and the copy bandwidth, measured now."""
    flops = matmul_rate(plan.device, plan.matmul_n, plan.dtype)
    return {
        "matmul_flops": flops,
        "matmul": f"{plan.dtype} {plan.matmul_n}^3, mean of 10 after 3 warm-ups",
        "copy_bytes_per_s": copy_bandwidth(plan.device, plan.copy_bytes),
        "copy": f"{si(plan.copy_bytes, 'B')} device-to-device, bytes read + written",
    }


def free_device(plan: Plan) -> None:
    gc.collect()
    if plan.device == "cuda":
        import torch

        torch.cuda.empty_cache()


def verification_part(plan: Plan, tokenizer, ceil: dict) -> dict:
    """The verification stage's throughput on `plan.verify_arch`, random weights."""
    from _gpu_models import random_model
    from _gpu_verify import verification_throughput

    start = time.perf_counter()
    model = random_model(plan.verify_arch, plan.device, plan.dtype)
    built_s = time.perf_counter() - start
    left = seconds_left(plan, plan.grpo_reserve_s)
    result = verification_throughput(model, tokenizer, plan.verify_arch, plan.verify, ceil, left)
    del model
    free_device(plan)
    arch = plan.verify_arch
    return {
        "model": arch.name,
        "params": arch.params,
        "layers": arch.shape.layers,
        "hidden": arch.shape.hidden,
        "dtype": plan.dtype,
        "build_s": round(built_s, 1),
        "sizes": plan.verify.__dict__,
        **result,
    }


def grpo_part(plan: Plan, tiny_dir: Path, tmp: Path, runs: list, save: Callable) -> None:
    """GRPO steps on the tiny model, then on `plan.grpo_big` (random weights, saved first);
    each run's figures are appended to `runs` and saved as soon as they are measured."""
    from _gpu_grpo import grpo_check
    from _gpu_models import save_random_model
    from transformers import AutoConfig, AutoTokenizer

    from verifier_train.memory import ModelShape

    on_gpu, left = plan.device == "cuda", seconds_left(plan)
    config = AutoConfig.from_pretrained(str(tiny_dir))
    tiny_shape = ModelShape(
        config.num_hidden_layers, config.hidden_size, config.intermediate_size, config.vocab_size
    )
    tiny = Arch("prover.tiny", tiny_shape, config.num_attention_heads)
    runs.append(grpo_check(tiny_dir, tiny, plan.grpo_tiny, tmp / "grpo-tiny", left, on_gpu))
    free_device(plan)
    save()
    if left() < 60 and on_gpu:
        runs.append({"model": plan.grpo_big.name, "skipped": "time budget"})
        return
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_dir))
    big_dir = save_random_model(plan.grpo_big, tmp / "big", tokenizer, plan.device, plan.dtype)
    free_device(plan)
    runs.append(
        grpo_check(big_dir, plan.grpo_big, plan.grpo_big_sizes, tmp / "grpo-big", left, on_gpu)
    )
    free_device(plan)


def run(plan: Plan, out: Path) -> dict:
    """Every part in turn, the JSON rewritten after each."""
    from _gpu_models import tiny_tokenizer

    results: dict = {"plan": "gpu" if plan.device == "cuda" else "cpu"}
    results["environment"] = environment(plan)

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, default=str) + "\n")

    results["ceilings"] = ceilings(plan)
    save()
    with tempfile.TemporaryDirectory() as tmp:
        tiny_dir = Path(tmp) / "tiny"
        tokenizer = tiny_tokenizer(tiny_dir)
        results["verification"] = verification_part(plan, tokenizer, results["ceilings"])
        save()
        try:  # the GRPO stage is built on TRL; its lazy modules raise RuntimeError
            from datasets import Dataset  # noqa: F401
            from trl import GRPOTrainer  # noqa: F401
        except (ImportError, RuntimeError) as exc:
            results["grpo"] = [{"skipped": f"trl or datasets cannot be imported: {exc}"}]
        else:
            results["grpo"] = []
            grpo_part(plan, tiny_dir, Path(tmp), results["grpo"], save)
    results["seconds"] = round(time.monotonic() - STARTED, 1)
    save()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="tiny sizes on the CPU (CI)")
    parser.add_argument("--out", type=Path, help="JSON of every figure (runs/gpu_check.json)")
    parser.add_argument("--budget-s", type=float, help="seconds the whole run may take")
    args = parser.parse_args(argv)
    plan = CPU_PLAN if args.cpu else GPU_PLAN
    quiet_transformers()
    if args.budget_s is not None:
        plan = Plan(**{**plan.__dict__, "budget_s": args.budget_s})
    import torch

    if args.cpu:  # tiny work: more threads only wait on each other, more so on a busy machine
        torch.set_num_threads(1)
    elif not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --cpu for the tiny sizes")
    out = args.out or Path("runs") / f"gpu_check-{'cpu' if args.cpu else 'gpu'}.json"
    results = run(plan, out)
    print(report(results))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
