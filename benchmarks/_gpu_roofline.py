"""Ceilings for `gpu_check.py`, measured in the same run: the dense matrix-product rate and
the device-to-device copy bandwidth, the prefill and decode rooflines derived from them, and
a split of profiled kernel (or, on a CPU, operator) time into a few named kinds.

This module does NOT run models or decide what is fast enough.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# Substrings (lower case) of CUDA kernel names and of aten operator names, per kind; the
# first kind that matches wins. Hopper cuBLAS kernels are named nvjet_* or sm90_xmma_*.
KINDS = (
    ("matmul", ("gemm", "nvjet", "cutlass", "xmma", "aten::mm", "aten::addmm", "aten::bmm")),
    ("attention", ("flash", "fmha", "attention", "aten::_efficient")),
    ("concat (KV cache, RoPE)", ("catarraybatchedcopy", "aten::cat")),
    ("sampling", ("sort", "softmax", "multinomial", "cumsum", "topk", "scan", "radix")),
    ("copies", ("memcpy", "memset", "aten::copy_", "aten::to", "aten::index")),
)


def _timed(sync: Callable[[], None], run: Callable[[], Any], reps: int) -> float:
    """Seconds per call of `run`, after three untimed calls (an idle GPU clocks up), the
    device synchronized."""
    for _ in range(3):
        run()
    sync()
    start = time.perf_counter()
    for _ in range(reps):
        run()
    sync()
    return (time.perf_counter() - start) / reps


def _sync(device: str) -> Callable[[], None]:
    import torch

    return torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)


def matmul_rate(device: str, n: int, dtype: str, reps: int = 10) -> float:
    """FLOP/s of an n x n x n product of random `dtype` matrices (2 n^3 FLOP each)."""
    import torch

    a = torch.randn(n, n, device=device, dtype=getattr(torch, dtype))
    b = torch.randn(n, n, device=device, dtype=getattr(torch, dtype))
    seconds = _timed(_sync(device), lambda: a @ b, reps)
    return 2 * n**3 / seconds


def copy_bandwidth(device: str, nbytes: int, reps: int = 10) -> float:
    """Bytes/s of a device-to-device copy of `nbytes`, counting bytes read and written."""
    import torch

    src = torch.empty(nbytes, dtype=torch.uint8, device=device).fill_(1)
    dst = torch.empty_like(src)
    seconds = _timed(_sync(device), lambda: dst.copy_(src), reps)
    return 2 * nbytes / seconds


def prefill_roofline(params: int, flops: float) -> float:
    """Tokens/s if prefill were compute-bound at `flops`: 2 x params FLOP per token."""
    return flops / (2 * params)


def decode_roofline(
    weight_bytes: float, bandwidth: float, batch: int, kv_bytes: float = 0.0
) -> float:
    """Tokens/s if each decode step only read the weights (2 x params bytes in bf16), plus
    `kv_bytes` of cached keys and values, at `bandwidth`; a step makes `batch` tokens."""
    return batch * bandwidth / (weight_bytes + kv_bytes)


def kind_of(name: str) -> str:
    """The kind (`KINDS`) a kernel or operator name belongs to, else "other"."""
    low = name.lower()
    for kind, needles in KINDS:
        if any(needle in low for needle in needles):
            return kind
    return "other"


def split_by_kind(rows: list[tuple[str, float]]) -> dict[str, float]:
    """(name, seconds) rows summed per kind, largest first."""
    totals: dict[str, float] = {}
    for name, seconds in rows:
        kind = kind_of(name)
        totals[kind] = totals.get(kind, 0.0) + seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def profiled_rows(prof: Any, on_gpu: bool) -> list[tuple[str, float]]:
    """(name, seconds) of what a finished `torch.profiler.profile` recorded: each CUDA kernel
    on a GPU (or, where kernels are not listed apart, each operator's own device time); each
    operator's own CPU time on a CPU."""
    from torch.autograd import DeviceType

    if not on_gpu:
        return [(e.key, e.self_cpu_time_total / 1e6) for e in prof.key_averages()]
    kernels = [
        (e.name, e.time_range.elapsed_us() / 1e6)
        for e in prof.events()
        if e.device_type == DeviceType.CUDA
    ]
    if kernels:
        return kernels
    return [(e.key, e.self_device_time_total / 1e6) for e in prof.key_averages()]
