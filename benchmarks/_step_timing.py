"""Timing of GRPO steps for the learning checks: a wrapper that adds a call's wall time to a
list on a clock (`clock.<kind>`), and a callback that records each optimizer step
(`clock.step`, using `clock.started`). A clock is any object with those list attributes."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any


def timed(clock: Any, kind: str, func: Callable) -> Callable:
    """`func`, its wall time appended to `clock.<kind>` on every call."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            getattr(clock, kind).append(time.perf_counter() - start)

    return wrapper


def step_timer(clock: Any):
    """A callback that records the wall time of each optimizer step."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            clock.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            clock.step.append(time.perf_counter() - clock.started)

    return StepTimer()
