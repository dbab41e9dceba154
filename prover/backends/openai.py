"""Client backend for any OpenAI-compatible server: vLLM serve, SGLang, `transformers serve`,
the DeepSeek API, Ollama.

Chat prompts go to `/chat/completions`, text prompts to `/completions`, all of them at once over
one `httpx.AsyncClient`, at most `concurrency` requests in flight. Servers that ignore `n`
(`transformers serve` does) are topped up with further requests; when a seed is given, each
top-up request uses `seed + samples already collected` so that the samples differ. HTTP 429,
5xx, timeouts and connection errors are retried with exponential backoff.

It does not start, stop or health-check servers, stream tokens, render chat templates (the
server does) or count tokens: counts come from the server's `usage`, split evenly across the
choices of one response. It does not shorten prompts or `max_tokens` to fit a context: a
context-length rejection becomes `prompt_too_long` completions.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from prover.backends.base import Completion, OnSamples, Prompt, Sampling
from prover.errors import BackendError

T = TypeVar("T")

MAX_DELAY = 60.0  # seconds, cap on one backoff sleep (Retry-After included)
CONTEXT_MARKERS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "maximum model length",
    "maximum prompt length",
    "too long",
    "exceeds the maximum",
)
STOP_REASONS = {"stop", "eos", "stop_sequence", "end_turn", None}
LENGTH_REASONS = {"length", "max_tokens", "model_length"}


class _PromptTooLong(Exception):
    """The server rejected a prompt because it does not fit the model's context."""


@dataclass(frozen=True)
class _Failure:
    """A retryable outcome of one attempt: why, and how long the server asked us to wait."""

    reason: str
    retry_after: float | None = None
    unreachable: bool = False


@dataclass(frozen=True)
class _Session:
    """What the requests of one `generate` call share."""

    client: httpx.AsyncClient
    limit: asyncio.Semaphore
    # Reports run one at a time in a worker thread: a slow sink (file writes, grading) must
    # neither stall the other requests nor see two batches at once.
    report: asyncio.Lock = field(default_factory=asyncio.Lock)


def is_context_length_error(message: str) -> bool:
    """True when a server's 400 message says the request does not fit the model's context."""
    lowered = message.lower()
    return any(marker in lowered for marker in CONTEXT_MARKERS)


def map_finish_reason(raw: str | None) -> str:
    """Map a server's finish reason onto "stop" / "length" (unknown ones count as truncated)."""
    if raw in STOP_REASONS:
        return "stop"
    return "length"


def split_tokens(total: int, parts: int) -> list[int]:
    """Split `total` into `parts` near-equal counts, the remainder going to the first ones."""
    base, rest = divmod(total, parts)
    return [base + (i < rest) for i in range(parts)]


def retry_delay(backoff: float, attempt: int, retry_after: float | None = None) -> float:
    """Seconds to sleep before retry `attempt + 1`: Retry-After if given, else jittered backoff."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), MAX_DELAY)
    delay = backoff * 2**attempt
    return min(delay + random.uniform(0.0, 0.25 * delay), MAX_DELAY)


def error_message(response: httpx.Response) -> str:
    """The server's error text (OpenAI, vLLM, FastAPI and Ollama shapes), first 200 chars."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        inner = body.get("error", body.get("detail", body.get("message", body)))
        if isinstance(inner, dict):
            inner = inner.get("message", inner.get("code", inner))
        return str(inner).strip()[:200]
    return str(body)[:200]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


def _choice_text(choice: dict) -> str:
    if "message" in choice:
        return (choice["message"] or {}).get("content") or ""
    return choice.get("text") or ""


def _choice_extra(choice: dict, usage_missing: bool) -> dict:
    extra: dict[str, Any] = {"usage_missing": True} if usage_missing else {}
    if choice.get("finish_reason") not in STOP_REASONS | LENGTH_REASONS:
        extra["finish_reason_raw"] = choice.get("finish_reason")
    reasoning = (choice.get("message") or {}).get("reasoning_content")
    if reasoning:
        extra["reasoning_content"] = reasoning
    return extra


def parse_choices(body: Any) -> list[Completion]:
    """Turn one (chat) completion response into Completions; usage is split across choices."""
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list):
        raise BackendError(f"openai backend: response has no 'choices' list: {str(body)[:200]}")
    choices = body["choices"]
    if not choices:
        return []
    usage = body.get("usage") or {}
    prompt_tokens = int(usage.get("prompt_tokens") or 0)
    shares = split_tokens(int(usage.get("completion_tokens") or 0), len(choices))
    return [
        Completion(
            text=_choice_text(choice),
            prompt_tokens=prompt_tokens,
            completion_tokens=share,
            finish_reason=map_finish_reason(choice.get("finish_reason")),
            extra=_choice_extra(choice, not usage),
        )
        for choice, share in zip(choices, shares, strict=True)
    ]


async def _gather(aws: Sequence[Awaitable[T]]) -> list[T]:
    """asyncio.gather that cancels the others as soon as one fails."""
    tasks = [asyncio.ensure_future(aw) for aw in aws]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class OpenAIBackend:
    """An OpenAI-compatible HTTP server, reached at `base_url` (e.g. http://127.0.0.1:8000/v1)."""

    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise BackendError(
                "openai backend: need concurrency >= 1, max_retries >= 0, timeout > 0"
            )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.extra_body = dict(extra_body or {})

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        sampling: Sampling | None = None,
        on_samples: OnSamples | None = None,
    ) -> list[list[Completion]]:
        """B prompts -> B lists of n completions (blocking; safe inside a running event loop).
        Each prompt's samples go to `on_samples` as soon as all n of them are in."""
        work = self.agenerate(prompts, n, sampling, on_samples)
        if not _in_running_loop():
            return asyncio.run(work)
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, work).result()

    async def agenerate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        sampling: Sampling | None = None,
        on_samples: OnSamples | None = None,
    ) -> list[list[Completion]]:
        """The async form of `generate`, for callers that already run an event loop."""
        if n < 1:
            raise BackendError(f"openai backend: n must be >= 1, got {n}")
        sampling = sampling or Sampling()
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            headers=self._headers(), timeout=httpx.Timeout(self.timeout), limits=limits
        ) as client:
            session = _Session(client, asyncio.Semaphore(self.concurrency))
            return await _gather(
                [
                    self._reported(session, i, p, n, sampling, on_samples)
                    for i, p in enumerate(prompts)
                ]
            )

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _payload(self, prompt: Prompt, n: int, sampling: Sampling, offset: int) -> dict:
        body: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed + offset
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        key = "prompt" if isinstance(prompt, str) else "messages"
        return {**body, key: prompt if isinstance(prompt, str) else list(prompt), **self.extra_body}

    async def _reported(
        self,
        session: _Session,
        index: int,
        prompt: Prompt,
        n: int,
        sampling: Sampling,
        on_samples: OnSamples | None,
    ) -> list[Completion]:
        got = await self._one_prompt(session, prompt, n, sampling)
        if on_samples:
            async with session.report:
                await asyncio.to_thread(on_samples, [(index, c) for c in got])
        return got

    async def _one_prompt(
        self, session: _Session, prompt: Prompt, n: int, sampling: Sampling
    ) -> list[Completion]:
        try:
            return await self._collect(session, prompt, n, sampling)
        except _PromptTooLong:
            return [Completion("", 0, 0, "prompt_too_long") for _ in range(n)]

    async def _collect(
        self, session: _Session, prompt: Prompt, n: int, sampling: Sampling
    ) -> list[Completion]:
        """Ask for n; if fewer come back, top up until n are collected."""
        got = await self._request(session, prompt, n, sampling, 0)
        ignores_n = len(got) == 1
        while len(got) < n:
            got += await self._top_up(session, prompt, n - len(got), sampling, len(got), ignores_n)
        return got[:n]

    async def _top_up(
        self, session: _Session, prompt: Prompt, k: int, sampling: Sampling, offset: int, fan: bool
    ) -> list[Completion]:
        """k more samples: one request with n=k, or k parallel n=1 requests if n is ignored."""
        if not fan:
            return await self._request(session, prompt, k, sampling, offset)
        batches = await _gather(
            [self._request(session, prompt, 1, sampling, offset + i) for i in range(k)]
        )
        return [completion for batch in batches for completion in batch]

    async def _request(
        self, session: _Session, prompt: Prompt, n: int, sampling: Sampling, offset: int
    ) -> list[Completion]:
        path = "/completions" if isinstance(prompt, str) else "/chat/completions"
        body = await self._post(session, path, self._payload(prompt, n, sampling, offset))
        completions = parse_choices(body)
        if not completions:
            raise BackendError(f"openai backend: POST {self.base_url}{path} returned no choices")
        return completions

    async def _post(self, session: _Session, path: str, payload: dict) -> Any:
        """POST with retries on 429, 5xx, timeouts and connection errors; the decoded JSON."""
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            outcome = await self._attempt(session, url, payload)
            if isinstance(outcome, httpx.Response):
                return self._decode(url, outcome)
            if attempt < self.max_retries:
                await asyncio.sleep(retry_delay(self.backoff, attempt, outcome.retry_after))
        if outcome.unreachable:
            raise BackendError(
                f"openai backend: cannot connect to {url} ({outcome.reason}, "
                f"{self.max_retries} retries): is the server running?"
            )
        raise BackendError(
            f"openai backend: POST {url} failed after {self.max_retries} retries: {outcome.reason}"
        )

    async def _attempt(
        self, session: _Session, url: str, payload: dict
    ) -> httpx.Response | _Failure:
        """One POST: a response to decode, or a retryable failure."""
        try:
            async with session.limit:
                response = await session.client.post(url, json=payload)
        except httpx.TimeoutException:
            return _Failure(f"timed out after {self.timeout:g} s")
        except httpx.TransportError as exc:
            return _Failure(f"{type(exc).__name__}: {exc}"[:200], unreachable=True)
        if response.status_code == 429 or response.status_code >= 500:
            reason = f"HTTP {response.status_code}: {error_message(response)}".rstrip(": ")
            return _Failure(reason, _retry_after(response))
        return response

    def _decode(self, url: str, response: httpx.Response) -> Any:
        if not response.is_success:
            raise self._client_error(url, response)
        try:
            return response.json()
        except ValueError as exc:
            raise BackendError(f"openai backend: POST {url} returned invalid JSON") from exc

    def _client_error(self, url: str, response: httpx.Response) -> Exception:
        """The exception for a non-retryable 4xx (a context-length 400 is not an error)."""
        status, message = response.status_code, error_message(response)
        if status in (400, 413, 422) and is_context_length_error(message):
            return _PromptTooLong(message)
        hint = ""
        if status in (401, 403):
            state = "is set but was refused" if os.environ.get(self.api_key_env) else "is not set"
            hint = f" (the API key is read from ${self.api_key_env}, which {state})"
        elif status == 404:
            hint = f" (check --model {self.model!r} and --base-url {self.base_url!r})"
        return BackendError(f"openai backend: POST {url} failed: HTTP {status}: {message}{hint}")
