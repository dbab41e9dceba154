"""The GPU check (`benchmarks/gpu_check.py`) runs end to end at tiny sizes on a CPU (`--cpu`)
in under a minute and writes every figure it prints; its kernel kinds, rooflines and note
are checked on hand-made inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _gpu_report import report  # noqa: E402
from _gpu_roofline import decode_roofline, kind_of, prefill_roofline, split_by_kind  # noqa: E402


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("gpu-check") / "figures.json"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    script = ROOT / "benchmarks" / "gpu_check.py"
    done = subprocess.run([sys.executable, str(script), "--cpu", "--out", str(out)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads(out.read_text())


def test_cpu_run_measures_every_part_in_under_a_minute(cpu_run):
    done, figures = cpu_run
    assert figures["seconds"] < 60
    assert figures["ceilings"]["matmul_flops"] > 0 and figures["ceilings"]["copy_bytes_per_s"] > 0
    verify = figures["verification"]
    assert [row["batch"] for row in verify["batches"]] == [1, 4]
    for row in verify["batches"]:
        assert row["completion_tokens"] == row["batch"] * verify["sizes"]["new_tokens"]
        assert 0 < row["prefill_fraction"] and 0 < row["decode_fraction"]
        assert row["decode_fraction_with_kv"] > row["decode_fraction"]
    assert verify["profile"]["batch"] == 4 and verify["profile"]["ms_per_step_by_kind"]
    runs = figures["grpo"]
    assert [run["model"] for run in runs] == ["prover.tiny", "small"]
    for run in runs:
        assert run["step_s"] > 0 and run["generation_s"] > 0 and run["update_s"] > 0
        assert run["estimate_gib"]["total"] >= 0


def test_table_is_printed_last_with_the_roofline_formulas(cpu_run):
    done, _ = cpu_run
    tail = done.stdout.strip().splitlines()[-16:]
    text = "\n".join(tail)
    assert "prefill roofline = matmul rate / (2 x params FLOP per token)" in text
    assert "decode roofline = batch x copy bandwidth / (4 bytes x params of weights" in text
    assert "GRPO steps" in text and tail[-1].startswith("figures: ")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("nvjet_tst_128x256_64x4_2x1_v_bz_coopB_TNT", "matmul"),
        ("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64", "matmul"),
        ("void pytorch_flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<128>>", "attention"),
        ("void at::native::CatArrayBatchedCopy<...>", "concat (KV cache, RoPE)"),
        ("void at::native::bitonicSortKVInPlace<2, -1, 16, 16, float, long>", "sampling"),
        ("Memcpy DtoD (Device -> Device)", "copies"),
        ("void at::native::vectorized_elementwise_kernel<4, CUDAFunctor_add<>>", "other"),
        ("aten::mm", "matmul"),
        ("aten::topk", "sampling"),
    ],
)  # fmt: skip
def test_kernel_kinds(name, kind):
    assert kind_of(name) == kind


def test_rooflines_and_split():
    params = 6_910_365_696
    assert prefill_roofline(params, 790e12) == pytest.approx(790e12 / 13.82e9, rel=1e-3)
    weights = 2 * params
    assert decode_roofline(weights, 4.3e12, 64) == pytest.approx(64 * 4.3e12 / 13.82e9, rel=1e-3)
    assert decode_roofline(weights, 4.3e12, 64, kv_bytes=13.82e9) == pytest.approx(
        32 * 4.3e12 / 13.82e9, rel=1e-3
    )
    split = split_by_kind([("aten::mm", 1.0), ("aten::cat", 3.0), ("aten::mm", 1.0)])
    assert list(split.items()) == [("concat (KV cache, RoPE)", 3.0), ("matmul", 2.0)]


def gpu_like_results(decode_fraction: float) -> dict:
    row = {
        "batch": 64, "bytes_per_param": 2, "prompt_tokens": 2048, "prefill_tok_s": 40000.0,
        "prefill_roofline_tok_s": 57000.0, "prefill_fraction": 0.7, "decode_tok_s": 1000.0,
        "decode_roofline_tok_s": 20000.0, "decode_fraction": decode_fraction,
        "decode_fraction_with_kv": 0.3, "decode_step_ms": 64.0, "peak_gib": 95.0,
    }  # fmt: skip
    profile = {
        "batch": 64, "context_tokens": 2307, "steps": 8, "what": "CUDA kernel time",
        "ms_per_step_by_kind": {"concat (KV cache, RoPE)": 30.0, "attention": 20.0},
        "ms_per_step_in_kernels": 50.0,
    }  # fmt: skip
    return {
        "plan": "gpu",
        "environment": {"device": "NVIDIA H200", "date": "today", "versions": {"torch": "2.11"}},
        "ceilings": {"matmul_flops": 7.9e14, "matmul": "bf16", "copy_bytes_per_s": 4.3e12,
                     "copy": "2 GiB"},
        "verification": {"model": "deepseek-math-7b", "params": 6_910_365_696, "dtype": "bfloat16",
                         "layers": 30, "hidden": 4096, "sizes": {"new_tokens": 512},
                         "batches": [row], "skipped_batches": [], "profile": profile},
        "grpo": [{"model": "1.2b", "skipped": "time budget"}],
        "seconds": 300.0,
    }  # fmt: skip


def test_low_decode_fraction_names_where_the_step_goes():
    text = report(gpu_like_results(decode_fraction=0.05))
    assert "790 TFLOP/s / 13.8 GFLOP = 57,161 tok/s" in text
    assert "note: decode at batch 64 reaches 5.0% of the weights-only roofline" in text
    assert "largest measured share of the step is concat (KV cache, RoPE) (30.0 ms of 64.0)" in text
    assert "14.0 ms with no kernel running" in text
    assert "batch x mean context x 491,520 B" in text
    assert "note:" not in report(gpu_like_results(decode_fraction=0.5))
