"""The OpenAI-compatible backend against a real `transformers serve` and a scripted fake server.

The model is tiny and random, so nothing here checks generated text, only shapes, token
accounting, retries and error messages.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from serve_fixture import Reply, chat_reply, fake_server, free_port

from prover.backends import Completion, Sampling, make_backend
from prover.backends.openai import (
    OpenAIBackend,
    is_context_length_error,
    map_finish_reason,
    parse_choices,
    split_tokens,
)
from prover.errors import BackendError

SHORT = Sampling(temperature=1.0, top_p=0.95, max_tokens=8, seed=0)


def fast_backend(url: str, **options) -> OpenAIBackend:
    return OpenAIBackend("m", base_url=url, backoff=0.01, **options)


# ---- against transformers serve ----------------------------------------------------------


def test_chat_with_n_tops_up(transformers_server: str, tiny_model) -> None:
    backend = make_backend("openai", str(tiny_model), base_url=transformers_server)
    chats = [[{"role": "user", "content": f"Let x be {i}."}] for i in range(3)]
    out = backend.generate(chats, n=2, sampling=SHORT)
    assert [len(row) for row in out] == [2, 2, 2]
    for completion in (c for row in out for c in row):
        assert isinstance(completion.text, str)
        assert completion.prompt_tokens > 0 and completion.completion_tokens > 0
        assert completion.finish_reason in {"stop", "length"}
        assert "usage_missing" not in completion.extra


def test_text_prompt_uses_completions(transformers_server: str, tiny_model) -> None:
    backend = OpenAIBackend(str(tiny_model), base_url=transformers_server + "/")
    out = backend.generate(["Let x be a real number."], n=1, sampling=SHORT)
    assert len(out) == 1 and len(out[0]) == 1
    assert out[0][0].prompt_tokens > 0 and 0 < out[0][0].completion_tokens <= 8


# ---- retries and errors, against a fake server ------------------------------------------------


def test_retries_503_then_succeeds() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 3}
    with fake_server(Reply(503), Reply(503), chat_reply(usage=usage)) as (url, seen):
        out = fast_backend(url).generate([[{"role": "user", "content": "hi"}]])
    assert len(seen) == 3 and seen[0].path == "/v1/chat/completions"
    assert out == [[Completion("ok", 5, 3, "stop")]]


def test_retries_429_with_retry_after() -> None:
    with fake_server(Reply(429, headers={"Retry-After": "0"}), chat_reply()) as (url, seen):
        start = time.monotonic()
        out = OpenAIBackend("m", base_url=url, backoff=30.0).generate(["hi"])
    assert len(seen) == 2 and time.monotonic() - start < 5
    assert out[0][0].text == "ok" and out[0][0].extra == {"usage_missing": True}


def test_gives_up_after_max_retries() -> None:
    with fake_server(Reply(503, {"error": {"message": "overloaded"}})) as (url, seen):
        with pytest.raises(BackendError, match=r"failed after 2 retries: HTTP 503: overloaded"):
            fast_backend(url, max_retries=2).generate(["hi"])
    assert len(seen) == 3


def test_401_names_the_key_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_PROVER_KEY", raising=False)
    error = {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}}
    with fake_server(Reply(401, error)) as (url, seen):
        with pytest.raises(BackendError, match=r"HTTP 401: Incorrect API key.*\$MY_PROVER_KEY"):
            fast_backend(url, api_key_env="MY_PROVER_KEY").generate(["hi"])
    assert len(seen) == 1


def test_404_mentions_model() -> None:
    error = {"object": "error", "message": "The model `m` does not exist.", "code": 404}
    with fake_server(Reply(404, error)) as (url, _):
        with pytest.raises(BackendError, match=r"does not exist.*--model 'm'"):
            fast_backend(url).generate(["hi"])


def test_connection_refused_is_quick() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"cannot connect to .*is the server running\?"):
        fast_backend(url, max_retries=1).generate(["hi"])
    assert time.monotonic() - start < 5


def test_context_length_error_gives_prompt_too_long() -> None:
    message = (
        "This model's maximum context length is 4096 tokens. However, you requested 5000 "
        "tokens (4000 in the messages, 1000 in the completion)."
    )
    error = {"object": "error", "message": message, "type": "BadRequestError", "code": 400}
    with fake_server(Reply(400, error)) as (url, seen):
        out = fast_backend(url).generate(["a very long prompt"], n=3)
    assert len(seen) == 1
    assert out == [[Completion("", 0, 0, "prompt_too_long")] * 3]


def test_api_key_header_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PROVER_KEY", "sk-test-123")
    with fake_server(chat_reply()) as (url, seen):
        fast_backend(url, api_key_env="MY_PROVER_KEY").generate(["hi"])
    assert seen[0].headers["Authorization"] == "Bearer sk-test-123"


def test_no_key_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with fake_server(chat_reply()) as (url, seen):
        fast_backend(url).generate(["hi"])
    assert "Authorization" not in seen[0].headers


def test_request_body_and_top_up_seeds() -> None:
    sampling = Sampling(temperature=0.7, top_p=0.9, max_tokens=16, seed=10, stop=("##",))
    with fake_server(chat_reply(usage={"prompt_tokens": 4, "completion_tokens": 2})) as (url, seen):
        out = fast_backend(url).generate(
            [[{"role": "user", "content": "hi"}]], n=3, sampling=sampling
        )
    assert len(out[0]) == 3 and len(seen) == 3
    first = seen[0].body
    assert first["n"] == 3 and first["messages"] == [{"role": "user", "content": "hi"}]
    assert (first["temperature"], first["top_p"], first["max_tokens"]) == (0.7, 0.9, 16)
    assert first["stop"] == ["##"] and first["model"] == "m"
    assert sorted(s.body["seed"] for s in seen) == [10, 11, 12]
    assert sorted(s.body["n"] for s in seen[1:]) == [1, 1]


def test_zero_choices_raises() -> None:
    with fake_server(Reply(200, {"choices": []})) as (url, _):
        with pytest.raises(BackendError, match="no choices"):
            fast_backend(url).generate(["hi"], n=2)


def test_generate_inside_running_loop() -> None:
    async def inside() -> list[list[Completion]]:
        return fast_backend(url).generate(["hi"])

    with fake_server(chat_reply()) as (url, _):
        out = asyncio.run(inside())
    assert out[0][0].text == "ok"


# ---- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "This model's maximum context length is 4096 tokens. However, you requested 5000 "
            "tokens (4000 in the messages, 1000 in the completion). Please reduce the length of "
            "the messages or completion.",
            True,
        ),
        (
            "This model's maximum context length is 4096 tokens. However, you requested 2048 "
            "output tokens and your prompt contains at least 3000 input tokens, for a total of "
            "at least 5048 tokens.",
            True,
        ),
        ("The decoder prompt (length 5951) is longer than the maximum model length of 4096.", True),
        ("context_length_exceeded", True),
        (
            "Input length (5000 tokens) exceeds the maximum allowed length (4096 tokens). "
            "Use a shorter input or enable --allow-auto-truncate.",
            True,
        ),
        ("Server is pinned to '/models/a'; requested 'b'.", False),
        ("temperature must be non-negative", False),
        ("Incorrect API key provided", False),
    ],
)
def test_context_length_detection(message: str, expected: bool) -> None:
    assert is_context_length_error(message) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("stop", "stop"), ("eos", "stop"), ("stop_sequence", "stop"), (None, "stop")]
    + [("length", "length"), ("max_tokens", "length"), ("content_filter", "length")],
)
def test_finish_reason_mapping(raw: str | None, expected: str) -> None:
    assert map_finish_reason(raw) == expected


def test_usage_split_across_choices() -> None:
    assert split_tokens(7, 3) == [3, 2, 2]
    body = {
        "choices": [{"text": "a", "finish_reason": "length"}, {"text": "b"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 5},
    }
    out = parse_choices(body)
    assert [(c.text, c.prompt_tokens, c.completion_tokens) for c in out] == [
        ("a", 9, 3),
        ("b", 9, 2),
    ]
    assert [c.finish_reason for c in out] == ["length", "stop"]
