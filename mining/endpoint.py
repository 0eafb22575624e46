"""Ask an OpenAI-compatible chat endpoint for answers: a candidate model's to golden-set prompts
(mining.evaluate), a local model's names for failure modes (mining.cluster.model_names).

Why it is built this way:
  resumable     every answer is handed to the caller as soon as it arrives (`on_answer`), and the
                caller passes the ids it has stored as `already` next time, so a run stopped halfway
                (Stop button, Ctrl+C, a crash) continues where it stopped and never asks twice.
  single writer requests run on a small thread pool (at most `concurrency` in flight, to respect the
                endpoint's rate limits), but `on_answer` is always called on the calling thread:
                DuckDB has one writer, and the caller writes each answer from there.
  retries       real endpoints drop connections, time out, rate-limit (429) and sit behind proxies
                that answer 502 with an HTML page; such attempts are retried with exponential backoff
                (or after the server's Retry-After), and an item that still fails is reported with
                the reason while the run goes on. Only problems that would fail every item alike
                (a bad URL, a refused key, no such endpoint or model) stop the run, as EndpointError.

Only the standard library is used: urllib for HTTP, a ThreadPoolExecutor for concurrency.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

DEFAULT_KEY_ENV = "OPENAI_API_KEY"  # may be unset: local servers (vLLM, Ollama, llama.cpp) take no key
RETRYABLE_STATUSES = frozenset({408, 409, 429})  # and every 5xx
MAX_WAIT_S = 60.0  # the longest pause before a retry, whatever Retry-After asks for
POLL_S = 0.1  # how often the calling thread looks at stop_event while requests are in flight
BODY_EXCERPT = 200  # characters of an unexpected response body quoted in an error


@dataclass(frozen=True)
class EndpointConfig:
    """Where and how to ask: POST {base_url}/chat/completions with `model`.

    The API key is read from the environment variable `api_key_env` when a run starts, never stored.
    With api_key_env=None, or the default OPENAI_API_KEY unset, no Authorization header is sent; any
    other variable named here must be set. Retries (after the first attempt) cover connection errors,
    timeouts, HTTP 408/409/429/5xx and responses that are not a chat completion; the pause before
    retry n (from 0) is backoff_s * 2**n with jitter, or the server's Retry-After, at most 60 s.
    """

    base_url: str
    model: str
    api_key_env: str | None = DEFAULT_KEY_ENV
    concurrency: int = 4
    timeout_s: float = 60.0
    retries: int = 4
    backoff_s: float = 1.0
    temperature: float | None = 0.0
    max_tokens: int | None = None
    # A key typed into the app for this session: kept in memory, never stored or shown (repr=False),
    # and used instead of api_key_env.
    api_key: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.retries < 0 or self.timeout_s <= 0 or self.backoff_s < 0:
            raise ValueError("concurrency must be at least 1, retries and backoff_s at least 0, timeout_s above 0")

    def describe(self) -> dict:
        """What a run stores about the endpoint (the name of the key's variable, never the key)."""
        return {"base_url": self.base_url, "model": self.model,
                "api_key_env": "(typed into the session)" if self.api_key else self.api_key_env,
                "concurrency": self.concurrency, "timeout_s": self.timeout_s, "retries": self.retries,
                "temperature": self.temperature, "max_tokens": self.max_tokens}


class EndpointError(Exception):
    """A problem that stops the whole run (bad URL, 401/403/404 from the endpoint, a missing API key
    variable that was explicitly named but is unset), message for a person."""


@dataclass(frozen=True)
class Prompt:
    """One golden-set prompt: chat messages, and the tools the model may call."""

    record_id: str
    messages: list[dict]
    tools: list[dict] | None = None


@dataclass
class AnswerResult:
    """One prompt's outcome: `answer` (text, or a JSON list of tool calls) or, after all retries, `error`."""

    record_id: str
    answer: str | None
    error: str | None
    latency_ms: float
    attempts: int


@dataclass
class GenerateReport:
    """What a run did: `skipped` were already answered; `stopped` when stop_event ended it early."""

    asked: int
    answered: int
    failed: int
    skipped: int
    seconds: float
    stopped: bool


class _AttemptFailed(Exception):
    """One attempt failed; `retryable` says whether another attempt may do better."""

    def __init__(self, message: str, retryable: bool = True, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def generate_answers(config: EndpointConfig, prompts: list[Prompt], already: set[str],
                     on_answer: Callable[[AnswerResult], None],
                     progress: Callable[[float, str], None] | None = None,
                     stop_event: threading.Event | None = None) -> GenerateReport:
    """Ask the endpoint for every prompt whose record_id is not in `already`, at most
    `config.concurrency` at a time, calling `on_answer` on this thread as each finishes (failures
    included, with answer=None). Setting `stop_event` (or Ctrl+C, re-raised) starts no new request and
    reports those in flight. Raises EndpointError, after reporting what finished, when the endpoint
    cannot be used at all."""
    started = time.monotonic()
    _check_url(config)
    key = _api_key(config)
    todo = _to_ask(prompts, already)
    run = _Run(len(todo), on_answer, progress)
    if progress is not None and todo:
        progress(0.0, f"asking {config.model} at {config.base_url} for {len(todo)} answers "
                      f"({len(prompts) - len(todo)} already answered)")
    opener = urllib.request.build_opener()  # per run, so proxy settings are read now
    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="faultline-endpoint") as pool:
        if stop_event is None or not stop_event.is_set():
            run.pending = {pool.submit(_ask, opener, config, key, prompt, run.halt) for prompt in todo}
        try:
            run.collect(stop_event)
        except KeyboardInterrupt:
            run.stop()
            run.collect(stop_event)
            raise
        except BaseException:
            run.stop()
            raise
    if run.endpoint_error is not None:
        raise run.endpoint_error
    asked = run.answered + run.failed
    return GenerateReport(asked=asked, answered=run.answered, failed=run.failed,
                          skipped=len(prompts) - len(todo), seconds=time.monotonic() - started,
                          stopped=asked < len(todo))


class _Run:
    """The calling thread's side of a run: the requests in flight, the counts, the reporting."""

    def __init__(self, total: int, on_answer: Callable[[AnswerResult], None],
                 progress: Callable[[float, str], None] | None) -> None:
        self.total = total
        self.on_answer = on_answer
        self.progress = progress
        self.pending: set[Future] = set()
        self.halt = threading.Event()  # set: workers start no request and no retry
        self.answered = 0
        self.failed = 0
        self.endpoint_error: EndpointError | None = None

    def collect(self, stop_event: threading.Event | None) -> None:
        """Report requests as they finish until none is left, stopping when stop_event is set."""
        while self.pending:
            done, _ = wait(self.pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:  # one at a time: if on_answer raises, the others stay pending for the drain
                self.pending.discard(future)
                self.report(future)
            if self.halt.is_set() or (stop_event is not None and stop_event.is_set()):
                self.stop()

    def stop(self) -> None:
        """Start nothing more: cancel the queued requests; those in flight still finish."""
        self.halt.set()
        for future in self.pending:
            future.cancel()

    def report(self, future: Future) -> None:
        """Hand one finished request to the caller, or keep the EndpointError that stops the run."""
        if future.cancelled():
            return
        problem = future.exception()
        if isinstance(problem, EndpointError):
            self.endpoint_error = self.endpoint_error or problem
            self.halt.set()
            return
        if problem is not None:
            raise problem
        result = future.result()
        if result is None:  # halted before it was asked, or before its retry: a resumed run asks it
            return
        if result.error is None:
            self.answered += 1
        else:
            self.failed += 1
        self.on_answer(result)
        if self.progress is not None:
            done = self.answered + self.failed
            failed = f" ({self.failed} failed)" if self.failed else ""
            self.progress(done / self.total, f"answered {done} of {self.total}{failed}")


def _check_url(config: EndpointConfig) -> None:
    """Refuse a base URL that is not http(s)://host..."""
    parts = urlsplit(config.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EndpointError(f"The endpoint URL {config.base_url!r} is not an http:// or https:// address "
                            "(expected something like http://127.0.0.1:8000/v1).")


def _chat_url(config: EndpointConfig) -> str:
    """The chat-completions URL under the base URL."""
    return config.base_url.rstrip("/") + "/chat/completions"


def _api_key(config: EndpointConfig) -> str | None:
    """The key typed for the session, else the one in the environment; None when none is configured."""
    if config.api_key:
        return config.api_key
    if config.api_key_env is None:
        return None
    key = os.environ.get(config.api_key_env)
    if not key and config.api_key_env != DEFAULT_KEY_ENV:
        raise EndpointError(f"The API key variable {config.api_key_env} is not set: set it in the environment "
                            "Faultline runs in, or name no key variable for an endpoint that needs no key.")
    return key or None


def _to_ask(prompts: list[Prompt], already: set[str]) -> list[Prompt]:
    """The prompts not answered yet, each record id once."""
    seen = set(already)
    todo = []
    for prompt in prompts:
        if prompt.record_id not in seen:
            seen.add(prompt.record_id)
            todo.append(prompt)
    return todo


def _ask(opener: urllib.request.OpenerDirector, config: EndpointConfig, key: str | None, prompt: Prompt,
         halt: threading.Event) -> AnswerResult | None:
    """Ask for one answer, retrying what may pass; None when halted before it was asked or retried."""
    if halt.is_set():
        return None
    body = json.dumps(_request_body(config, prompt)).encode("utf-8")
    attempts = 0
    while True:
        attempts += 1
        began = time.monotonic()
        try:
            answer = _answer_text(_post(opener, config, key, body))
            return AnswerResult(prompt.record_id, answer, None, _ms_since(began), attempts)
        except EndpointError:
            halt.set()  # at once, so no other worker starts a request that would fail alike
            raise
        except _AttemptFailed as failure:
            latency_ms = _ms_since(began)
            if not failure.retryable or attempts > config.retries:
                return AnswerResult(prompt.record_id, None, f"{failure} (after {attempts} attempts)",
                                    latency_ms, attempts)
            if halt.wait(_retry_delay(config, attempts - 1, failure.retry_after)):
                return None


def _request_body(config: EndpointConfig, prompt: Prompt) -> dict:
    """The chat-completions request for one prompt."""
    body: dict[str, Any] = {"model": config.model, "messages": prompt.messages}
    if config.temperature is not None:
        body["temperature"] = config.temperature
    if config.max_tokens is not None:
        body["max_tokens"] = config.max_tokens
    if prompt.tools:
        body["tools"] = prompt.tools
    return body


def _post(opener: urllib.request.OpenerDirector, config: EndpointConfig, key: str | None, body: bytes) -> Any:
    """One POST; the decoded JSON response. Raises _AttemptFailed or EndpointError."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(_chat_url(config), data=body, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=config.timeout_s) as response:
            raw = response.read()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        raise _status_failure(config, key, error) from None
    except TimeoutError:
        raise _AttemptFailed(f"timed out after {config.timeout_s:g} s") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise _AttemptFailed(f"timed out after {config.timeout_s:g} s") from None
        raise _AttemptFailed(f"could not connect to {_chat_url(config)}: {error.reason}") from None
    except (OSError, http.client.HTTPException) as error:
        raise _AttemptFailed(f"connection to {_chat_url(config)} failed: {error!r}") from None
    try:
        return json.loads(raw)
    except ValueError:
        raise _AttemptFailed(f"the response is not JSON ({content_type or 'no content type'}): "
                             f"{_excerpt(raw)}") from None


def _status_failure(config: EndpointConfig, key: str | None, error: urllib.error.HTTPError) -> Exception:
    """The exception for an HTTP error status: EndpointError for 401/403/404, else _AttemptFailed."""
    try:
        detail = _excerpt(error.read())
    except (OSError, http.client.HTTPException):
        detail = "(no readable body)"
    if error.code in (401, 403):
        if key is None:
            where = ("no key was sent: api_key_env is empty" if config.api_key_env is None
                     else f"no key was sent: {config.api_key_env} is not set")
        else:
            where = f"check the key in {config.api_key_env}"
        return EndpointError(f"The endpoint refused the API key (HTTP {error.code}); {where}. Server said: {detail}")
    if error.code == 404:
        return EndpointError(f"The endpoint has no {_chat_url(config)} or no model {config.model!r} (HTTP 404): "
                             f"check the base URL and the model name. Server said: {detail}")
    retryable = error.code in RETRYABLE_STATUSES or error.code >= 500
    return _AttemptFailed(f"HTTP {error.code}: {detail}", retryable, _retry_after(error.headers.get("Retry-After")))


def _retry_after(value: str | None) -> float | None:
    """A Retry-After header given in seconds; None when absent or given as a date."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _retry_delay(config: EndpointConfig, retry: int, retry_after: float | None) -> float:
    """Seconds to wait before retry number `retry` (from 0): Retry-After if given, else exponential with jitter."""
    if retry_after is not None:
        return min(retry_after, MAX_WAIT_S)
    return min(config.backoff_s * 2 ** retry * random.uniform(0.5, 1.5), MAX_WAIT_S)


def _answer_text(response: Any) -> str:
    """The answer in a chat completion: the assistant's text, else its tool calls as a JSON list."""
    try:
        message = response["choices"][0]["message"]
        content = message.get("content")
        tool_calls = message.get("tool_calls") or []
        calls = [{"name": call["function"]["name"], "arguments": _arguments(call["function"].get("arguments"))}
                 for call in tool_calls]
    except (KeyError, IndexError, TypeError, AttributeError):
        raise _AttemptFailed(f"the response is not a chat completion: {_excerpt(response)}") from None
    text = _content_text(content)
    if calls and not text:
        return json.dumps(calls, ensure_ascii=False)
    return text


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of parts; '' when None."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    raise _AttemptFailed(f"the message content is neither text nor parts: {_excerpt(content)}")


def _arguments(arguments: Any) -> Any:
    """Tool-call arguments parsed from their JSON string; the original value when it is not JSON."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _excerpt(value: Any) -> str:
    """A short, one-line quote of a response body for an error message."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


def _ms_since(began: float) -> float:
    """Milliseconds since the monotonic time `began`."""
    return (time.monotonic() - began) * 1000.0
