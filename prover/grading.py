"""Answer grading: Math-Verify and the DeepSeekMath evaluation rules, side by side.

`grade(gold, pred)` returns both verdicts, so a user can see where the graders disagree.

- Math-Verify keeps its asymmetric order, `verify(parse(gold), parse(pred))`. A bare gold
  answer (no `$`, `\\(`, `\\[` or `\\boxed`) is wrapped in `$...$` first: bare, `1/2004!`
  parses as `1` and `n=2,3,4` as `2.3`. A prediction that is an output is parsed as it is.
- The DeepSeekMath rules (`prover.answers`): the answer-extraction priority of its harness,
  numeric tolerance 1e-3 with the percentage variants x, x/100, x*100, element-wise tuples,
  intervals and matrices, order-free matching of several answers, light LaTeX normalisation,
  and sympy equality as the last resort (run here, time-bounded).

Bare answers. `pred_kind` says what PRED is. `"output"` (the default, and what the reward
functions and `prover eval` pass) is a model's whole text: Math-Verify parses it as it is and
the DeepSeekMath rules extract the answer by their priority. `"answer"` is a bare answer, graded
whole by both: Math-Verify reads it as it reads gold, in `$...$` (its parser finds nothing in a
bare `\\dfrac12`, `(x+1)^2` or `\\{1,2,3\\}`), except a lone number, possibly followed by a
unit or percent word (`7,425,000`, `1 000`, `1000,99`, `28 percent`), which it reads as it is
(its number extraction knows separators and decimal commas; in `$...$`, `1 000` is `1*0`); the
DeepSeekMath rules compare the whole of it (`answers.bare_answer`). `"auto"` (what `prover
grade` uses unless told) decides per pair with `answers.reads_as_answer`: PRED is a bare answer
when it has no extraction cue (an unescaped `$`, `\\(`, `\\[`, `\\boxed`, `\\fbox`, the word
"answer", a code fence), is one line (or one LaTeX environment, such as a matrix over several
lines) and has no prose: it is one token, or its words (outside `\\text{...}`) are all
variables, function names and units, with no short English word such as "so", "is" or "the".
The rule comes from real outputs: model outputs (Math-Verify's regression outputs,
DeepSeekMath's "The final answer is $X$. I hope it is correct.", boxed solutions, "so the
answer is 5") carry a cue or prose, and stay outputs; what carries neither is an answer.

Time bound. Math-Verify's own timeouts use `signal.alarm`, which fails off the main thread.
Here every sympy call (all of Math-Verify, and the sympy fallback of the DeepSeekMath rules)
runs with those timeouts off, in persistent worker processes shared by all threads (their
number grows on demand to max(2, CPUs), or to `workers`). Workers are started with fork+exec
(`subprocess`), so they also work inside daemonic multiprocessing workers and never
copies a parent's threads or GPU context. The parent waits at most `timeout` seconds for each
verdict; a worker that does not answer in time is killed and replaced (about 0.5 s), and the
verdict comes back as `math_verify=None, reason="timeout"`; a DeepSeekMath sympy check that
runs out of time counts as not equal, as in the DeepSeekMath harness. A pair therefore takes
at most about 2 x `timeout`. Each worker also arms RLIMIT_CPU before each pair, so one
orphaned by a killed parent stops by itself. `shutdown_workers()` frees them (also at exit).

This module does not:
- run model-written programs (program output is read from a ```output block, never run);
- grade proofs (`prover.scoring`) or read score boxes (`prover.parse`);
- copy DeepSeekMath bug for bug: exact numbers (integers, fractions, factorials) compare
  exactly, so `1/2004!` is not `1/2006!` and two 20-digit integers are not equal "within
  1e-3"; the tolerance applies only when a side is written as a decimal. The percentage
  variants are kept, so `5` against `500` is equal under these rules (and not under
  Math-Verify);
- look past that rule in `"auto"` mode: an answer inside a sentence (`5 apples`) is an
  output, graded by its last number, and a one-token output (`Therefore`) is graded whole;
- turn failures into verdicts: an exception that escapes a worker (a bug) is raised here as
  `GradingError`; `None` only ever means "Math-Verify could not decide" and says why.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Literal, get_args

from prover.answers import UNITS, bare_answer, extract_answer, reads_as_answer, rules_equal

TIMEOUT = 5.0
CHUNK = 32  # pairs sent to a worker at once; results stream back one by one
START_TIMEOUT = 120.0  # seconds a new worker may take to import Math-Verify
CPU_SLACK = 10  # CPU seconds beyond its own budget before an orphaned worker is stopped
PredKind = Literal["auto", "answer", "output"]  # what PRED holds; see the module docstring
PRED_KINDS: tuple[str, ...] = get_args(PredKind)


class GradingError(RuntimeError):
    """A grading worker failed in a way that is a bug, not a verdict."""


@dataclass(frozen=True)
class Grade:
    """Both verdicts for one (gold, pred) pair."""

    gold: str
    pred: str
    math_verify: bool | None  # None: Math-Verify could not decide (parse failure or timeout)
    deepseek: bool  # the DeepSeekMath evaluation rules
    answer: str | None  # the answer the DeepSeekMath rules graded: extracted, or pred itself
    reason: str | None = None  # why math_verify is None, e.g. "timeout"
    as_answer: bool = False  # pred was graded as a bare answer, not as an output

    @property
    def agree(self) -> bool:
        """Both graders decided, the same way (an undecided Math-Verify never agrees)."""
        return self.math_verify is not None and self.math_verify == self.deepseek


# --- Worker side: everything that may run sympy -------------------------------------------


_DELIMITED = re.compile(r"(?<!\\)\$|\\\(|\\\[|\\boxed")


def delimit_gold(gold: str) -> str:
    """Gold as Math-Verify's LaTeX extraction needs it: in `$...$` unless already delimited
    (an escaped `\\$`, as in `\\$18.90`, is a dollar sign, not a delimiter)."""
    return gold if _DELIMITED.search(gold) else f"${gold}$"


_LONE_NUMBER = re.compile(
    rf"[+-]?(?:(?:\d{{1,3}}(?:[ ,]\d{{3}})+|\d+)(?:\.\d+|,\d\d|,\d{{4,}})?|\.\d+)"
    rf"(?:\s*(?:%|percent|pct|{UNITS}))?"
)


def math_verify_text(answer: str) -> str:
    """A bare answer as Math-Verify reads it: a lone number (with separators, a decimal comma,
    a unit or percent word) as it is, anything else as gold is read (`delimit_gold`)."""
    answer = answer.strip()
    return answer if _LONE_NUMBER.fullmatch(answer) else delimit_gold(answer)


def _math_verify(gold: str, pred: str, as_answer: bool = False) -> tuple[bool | None, str | None]:
    """(verdict, reason) from Math-Verify with its signal timeouts off (worker processes only)."""
    from math_verify import parse, verify

    parsed_gold = parse(delimit_gold(gold), parsing_timeout=None)
    if not parsed_gold:
        return None, "gold not parsed"
    parsed_pred = parse(math_verify_text(pred) if as_answer else pred, parsing_timeout=None)
    if not parsed_pred:
        return None, "no answer parsed from pred"
    return verify(parsed_gold, parsed_pred, timeout_seconds=None), None


def _sympy_errors() -> tuple[type[BaseException], ...]:
    """What sympy raises on answers it cannot compare (sets minus numbers, odd objects)."""
    from sympy import SympifyError
    from sympy.polys.polyerrors import BasePolynomialError

    return (TypeError, ValueError, AttributeError, NotImplementedError, ArithmeticError,
            RecursionError, SympifyError, BasePolynomialError)  # fmt: skip


def _to_sympy(answer: str):
    """The answer parsed by Math-Verify's LaTeX parser, or None."""
    from math_verify import LatexExtractionConfig, parse
    from sympy import Basic, MatrixBase

    config = [LatexExtractionConfig()]
    found = parse(f"${answer}$", config, fallback_mode="no_fallback", parsing_timeout=None)
    return found[0] if found and isinstance(found[0], Basic | MatrixBase) else None


def _symbolic_equal(gold: str, pred: str) -> bool:
    """simplify(gold - pred) == 0; within 1e-3 numerically when a side holds a decimal."""
    from sympy import Expr, Float, simplify

    left, right = _to_sympy(gold), _to_sympy(pred)
    if left is None or right is None:
        return False
    if left == right:
        return True
    if not (isinstance(left, Expr) and isinstance(right, Expr)):
        return False
    try:
        diff = left - right
        if diff.has(Float) and not diff.free_symbols:
            return abs(complex(diff.evalf())) <= 1e-3
        return simplify(diff) == 0
    except _sympy_errors():
        return False


def _arm_cpu_limit(seconds: float) -> None:
    """Orphan guard: the kernel stops this worker after `seconds` more CPU seconds (plus
    slack), even when the parent that would have killed it is gone."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds + CPU_SLACK)
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def graded_answer(pred: str, as_answer: bool) -> str | None:
    """The answer the DeepSeekMath rules grade: pred itself, or the one extracted from it."""
    return bare_answer(pred) if as_answer else extract_answer(pred)


def _job_messages(kind: str, payload: tuple, limit: float) -> Iterator[object]:
    """The messages a worker sends back for one job, in order, one per verdict."""
    if kind == "grade":
        for gold, pred, as_answer in payload:
            _arm_cpu_limit(2 * limit)
            yield _nested_guard(_math_verify, (None, "too deeply nested"), gold, pred, as_answer)
            answer = graded_answer(pred, as_answer)
            yield answer, _nested_guard(rules_equal, False, gold, answer, _symbolic_equal)
    elif kind == "math_verify":
        _arm_cpu_limit(limit)
        yield _nested_guard(_math_verify, (None, "too deeply nested"), *payload)
    elif kind == "symbolic":
        _arm_cpu_limit(limit)
        yield _symbolic_equal(*payload)
    else:
        raise ValueError(f"unknown grading job {kind!r}")


def _nested_guard(function: Callable, default: object, *args: object) -> object:
    """An answer nested past Python's recursion limit is an input the graders cannot read,
    not a bug: it gets `default` (undecided, or not equal)."""
    try:
        return function(*args)
    except RecursionError:
        return default


_READY = "ready"


def _serve(fd: int) -> None:
    """A worker process: answer jobs from the parent until it hangs up."""
    import resource

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which kills us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    import math_verify  # noqa: F401  (the slow import happens before "ready")

    conn = Connection(fd)
    conn.send(_READY)
    while True:
        try:
            kind, payload, limit = conn.recv()
        except EOFError:
            return
        for message in _job_messages(kind, payload, limit):
            conn.send(message)


# --- Parent side: the workers --------------------------------------------------------------

_WORKER_MAIN = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from prover.grading import _serve; _serve(int(sys.argv[1]))"
)


class _Lost(Exception):
    """A worker gave no answer in time, or died of a signal; the verdict is unknown."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Worker:
    """One worker process and the parent's end of its socket; one thread uses it at a time."""

    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[1])
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_MAIN, str(theirs.fileno()), root],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())
        self.ready = False

    def wait_ready(self) -> None:
        if self.process.poll() is not None:
            self.restart()
        if not self.ready:
            try:
                message = self.receive(START_TIMEOUT)
            except _Lost as lost:
                raise GradingError(f"grading worker did not start: {lost.reason}") from None
            self.ready = message == _READY

    def send(self, kind: str, payload: tuple, limit: float) -> None:
        self.conn.send((kind, payload, limit))

    def receive(self, timeout: float) -> object:
        """The next message; `_Lost` after `timeout` seconds of silence or a killed worker."""
        if not self.conn.poll(timeout):
            raise _Lost("timeout")
        try:
            return self.conn.recv()
        except EOFError:
            code = self.process.wait()
        if code >= 0:
            raise GradingError(f"grading worker failed with exit code {code} (traceback above)")
        raise _Lost(f"worker killed by {signal.Signals(-code).name}")

    def restart(self) -> None:
        self.kill()
        self._start()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.conn.close()


class _Workers:
    """Workers shared by all threads of this process; grows on demand up to `size`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._all: list[_Worker] = []
        self.size = max(2, os.cpu_count() or 2)

    def reserve(self, count: int) -> None:
        with self._cond:
            self.size = max(self.size, count)

    @contextmanager
    def lease(self) -> Iterator[_Worker]:
        """A ready worker for the caller alone; one left mid-job (an exception) is replaced."""
        worker = self._acquire()
        finished = False
        try:
            worker.wait_ready()
            yield worker
            finished = True
        finally:
            if not finished:
                worker.restart()
            with self._cond:
                self._idle.append(worker)
                self._cond.notify()

    def _acquire(self) -> _Worker:
        with self._cond:
            while not self._idle and len(self._all) >= self.size:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            worker = _Worker()
            self._all.append(worker)
            return worker

    def close(self) -> None:
        with self._cond:
            for worker in self._all:
                worker.kill()
            self._all.clear()
            self._idle.clear()


_WORKERS: _Workers | None = None
_WORKERS_LOCK = threading.Lock()


def _workers() -> _Workers:
    global _WORKERS
    with _WORKERS_LOCK:
        if _WORKERS is None:
            _WORKERS = _Workers()
        return _WORKERS


def shutdown_workers() -> None:
    """Kill this process's grading workers (at exit, or to free their memory); the next
    grading call starts new ones."""
    global _WORKERS
    with _WORKERS_LOCK:
        running, _WORKERS = _WORKERS, None
    if running is not None:
        running.close()


def _forget_workers_after_fork() -> None:
    """A forked child must not share (or kill) its parent's workers."""
    global _WORKERS, _WORKERS_LOCK
    _WORKERS, _WORKERS_LOCK = None, threading.Lock()


atexit.register(shutdown_workers)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_workers_after_fork)


# --- Public grading API -------------------------------------------------------------------


def _check_timeout(timeout: float) -> None:
    if not (0 < timeout < math.inf):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")


def math_verify_equal(gold: str, pred: str, timeout: float = TIMEOUT) -> bool | None:
    """Math-Verify's `verify(parse(gold), parse(pred))`; None when it cannot decide (a side
    does not parse, or it runs past `timeout` seconds)."""
    _check_timeout(timeout)
    with _workers().lease() as worker:
        worker.send("math_verify", (gold, pred), timeout)
        try:
            verdict, _ = worker.receive(timeout)
        except _Lost:
            worker.restart()
            return None
        return verdict


def deepseek_equal(gold: str, answer: str | None, timeout: float = TIMEOUT) -> bool:
    """Whether an extracted answer equals gold under the DeepSeekMath rules. Its sympy checks
    share a `timeout`-second budget; one that runs out counts as not equal."""
    _check_timeout(timeout)
    deadline = time.monotonic() + timeout
    symbolic = partial(_bounded_symbolic, deadline=deadline)
    return bool(_nested_guard(rules_equal, False, gold, answer, symbolic))


def _bounded_symbolic(gold: str, pred: str, deadline: float) -> bool:
    left = deadline - time.monotonic()
    if left <= 0:
        return False
    with _workers().lease() as worker:
        worker.send("symbolic", (gold, pred), left)
        try:
            return bool(worker.receive(left))
        except _Lost:
            worker.restart()
            return False


def grade(gold: str, pred: str, timeout: float = TIMEOUT, pred_kind: PredKind = "output") -> Grade:
    """Both verdicts for one pair; each verdict waits at most `timeout` seconds. `pred_kind`:
    whether pred is a model's "output", a bare "answer", or "auto" (decided from pred)."""
    return grade_many([(gold, pred)], timeout=timeout, pred_kind=pred_kind)[0]


def pred_is_answer(pred: str, pred_kind: PredKind) -> bool:
    """Whether pred is graded as a bare answer under `pred_kind` (see the module docstring)."""
    if pred_kind not in PRED_KINDS:
        raise ValueError(f"pred_kind must be one of {', '.join(PRED_KINDS)}, got {pred_kind!r}")
    return pred_kind == "answer" or (pred_kind == "auto" and reads_as_answer(pred))


def grade_many(
    pairs: Sequence[tuple[str, str]],
    workers: int = 1,
    timeout: float = TIMEOUT,
    pred_kind: PredKind = "output",
) -> list[Grade]:
    """Grades of all pairs, in input order, `workers` worker processes in parallel. Each pred
    is a model's "output" (the default), a bare "answer", or "auto": decided pair by pair."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    _check_timeout(timeout)
    pairs = [(gold, pred, pred_is_answer(pred, pred_kind)) for gold, pred in pairs]
    chunks = [pairs[i : i + CHUNK] for i in range(0, len(pairs), CHUNK)]
    if workers == 1 or len(chunks) <= 1:
        done = [_grade_chunk(chunk, timeout) for chunk in chunks]
    else:
        _workers().reserve(workers)
        executor = ThreadPoolExecutor(workers, thread_name_prefix="grading")
        try:
            done = list(executor.map(partial(_grade_chunk, timeout=timeout), chunks))
        finally:  # on an error or Ctrl-C, chunks not yet started are dropped
            executor.shutdown(cancel_futures=True)
    return [grade for chunk in done for grade in chunk]


_Pair = tuple[str, str, bool]  # gold, pred, whether pred is graded as a bare answer


def _grade_chunk(pairs: list[_Pair], timeout: float) -> list[Grade]:
    """Pairs graded in order; a pair whose Math-Verify call is lost gets its DeepSeekMath
    verdict here, and the rest go to a fresh worker."""
    grades: list[Grade] = []
    while len(grades) < len(pairs):
        done, lost = _grade_run(pairs[len(grades) :], timeout)
        grades += done
        if lost is not None:
            (gold, pred, as_answer), reason = lost
            answer = graded_answer(pred, as_answer)
            verdict = deepseek_equal(gold, answer, timeout)
            grades.append(Grade(gold, pred, None, verdict, answer, reason, as_answer))
    return grades


def _grade_run(pairs: list[_Pair], timeout: float) -> tuple[list[Grade], tuple[_Pair, str] | None]:
    """Grades pairs on one worker until done or until one is lost: (grades, lost pair and why).
    A lost DeepSeekMath check counts as not equal, and the run stops there too."""
    grades: list[Grade] = []
    with _workers().lease() as worker:
        worker.send("grade", tuple(pairs), timeout)
        for gold, pred, as_answer in pairs:
            try:
                verdict, reason = worker.receive(timeout)
            except _Lost as lost:
                worker.restart()
                return grades, ((gold, pred, as_answer), lost.reason)
            try:
                answer, same = worker.receive(timeout)
            except _Lost:
                worker.restart()
                answer, same = graded_answer(pred, as_answer), False
                grades.append(Grade(gold, pred, verdict, same, answer, reason, as_answer))
                return grades, None
            grades.append(Grade(gold, pred, verdict, same, answer, reason, as_answer))
    return grades, None
