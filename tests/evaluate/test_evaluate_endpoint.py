"""The endpoint client against a real OpenAI-compatible HTTP server started on 127.0.0.1 by each test:
answers, the request sent, the concurrency limit, retries on a server that fails sometimes, timeouts,
a run interrupted and resumed, the errors that stop a run, tool-call answers."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

import pytest

from mining.endpoint import (AnswerResult, EndpointConfig, EndpointError, GenerateReport, Prompt,
                                      _retry_delay, generate_answers)

KEY_ENV = "FAULTLINE_TEST_ENDPOINT_KEY"


@dataclass
class Reply:
    """What the fake server answers to one request."""

    status: int = 200
    body: bytes | dict | None = None  # None: a chat completion answering the prompt
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0


def completion(content: str | None, tool_calls: list[dict] | None = None) -> dict:
    """A chat-completions response body."""
    message: dict = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


class FakeEndpoint:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that records what it was asked.

    `reply(question, attempt)` decides each answer; question is the last message's content, attempt
    counts that question's requests from 1."""

    def __init__(self) -> None:
        self.reply: Callable[[str, int], Reply] = lambda question, attempt: Reply()
        self.requests: list[tuple[str, dict]] = []  # (path, body)
        self.headers: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.closing = threading.Event()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def questions(self) -> Counter:
        """How many times each question was asked."""
        with self.lock:
            return Counter(body["messages"][-1]["content"] for _, body in self.requests)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                question = body["messages"][-1]["content"]
                with endpoint.lock:
                    endpoint.requests.append((self.path, body))
                    endpoint.headers.append(dict(self.headers))
                    attempt = sum(1 for _, seen in endpoint.requests if seen["messages"][-1]["content"] == question)
                    endpoint.in_flight += 1
                    endpoint.max_in_flight = max(endpoint.max_in_flight, endpoint.in_flight)
                reply = endpoint.reply(question, attempt)
                closing = reply.delay_s > 0 and endpoint.closing.wait(reply.delay_s)
                with endpoint.lock:  # before answering: the client may send its next request at once
                    endpoint.in_flight -= 1
                if not closing:
                    self.answer(reply, question)

            def answer(self, reply: Reply, question: str) -> None:
                payload = reply.body if reply.body is not None else completion(f"answer to {question}")
                data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
                self.send_response(reply.status)
                is_json = isinstance(payload, dict)
                self.send_header("Content-Type", "application/json" if is_json else "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting (timeout tests)
                    pass

            def log_message(self, *args) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEndpoint]:
    """A fresh fake endpoint; proxies off so 127.0.0.1 is reached directly."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with FakeEndpoint() as server:
        yield server


def prompts(count: int) -> list[Prompt]:
    return [Prompt(f"r{i}", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"q{i}"}])
            for i in range(count)]


def config(endpoint: FakeEndpoint, **overrides) -> EndpointConfig:
    settings = {"api_key_env": None, "concurrency": 4, "timeout_s": 5.0, "retries": 3, "backoff_s": 0.001}
    settings.update(overrides)
    return EndpointConfig(endpoint.base_url, "test-model", **settings)


def run(cfg: EndpointConfig, asked: list[Prompt], already: set[str] | None = None,
        **kwargs) -> tuple[GenerateReport, dict[str, AnswerResult]]:
    """generate_answers, keeping every result (each record id must be reported once)."""
    results: dict[str, AnswerResult] = {}

    def keep(result: AnswerResult) -> None:
        assert result.record_id not in results
        results[result.record_id] = result

    report = generate_answers(cfg, asked, already or set(), keep, **kwargs)
    return report, results


def test_every_prompt_answered_once_on_the_calling_thread(endpoint: FakeEndpoint,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test-secret")
    tools = [{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}]
    asked = prompts(5) + [Prompt("r5", [{"role": "user", "content": "q5"}], tools=tools)]
    cfg = config(endpoint, api_key_env=KEY_ENV, temperature=0.3, max_tokens=64, concurrency=3)
    calling_thread = threading.get_ident()
    results: list[AnswerResult] = []
    threads: set[int] = set()
    progress: list[tuple[float, str]] = []

    def on_answer(result: AnswerResult) -> None:
        threads.add(threading.get_ident())
        results.append(result)

    report = generate_answers(cfg, asked, set(), on_answer, progress=lambda f, m: progress.append((f, m)))

    assert sorted(r.record_id for r in results) == [f"r{i}" for i in range(6)]
    assert {r.record_id: r.answer for r in results} == {f"r{i}": f"answer to q{i}" for i in range(6)}
    assert all(r.error is None and r.attempts == 1 and r.latency_ms > 0 for r in results)
    assert threads == {calling_thread}
    assert report == GenerateReport(asked=6, answered=6, failed=0, skipped=0, seconds=report.seconds, stopped=False)
    assert progress[-1] == (1.0, "answered 6 of 6")
    bodies = {body["messages"][-1]["content"]: body for _, body in endpoint.requests}
    assert {path for path, _ in endpoint.requests} == {"/v1/chat/completions"}
    assert bodies["q2"] == {"model": "test-model", "messages": asked[2].messages, "temperature": 0.3,
                            "max_tokens": 64}
    assert bodies["q5"]["tools"] == tools
    assert all(headers["Authorization"] == "Bearer sk-test-secret" for headers in endpoint.headers)
    assert all(headers["Content-Type"] == "application/json" for headers in endpoint.headers)
    assert "sk-test-secret" not in json.dumps(cfg.describe())
    assert cfg.describe()["api_key_env"] == KEY_ENV


def test_no_authorization_header_without_a_key(endpoint: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-for-this-endpoint")
    generate_answers(config(endpoint, api_key_env=None), prompts(2), set(), lambda result: None)
    monkeypatch.delenv("OPENAI_API_KEY")  # the default variable may be unset: a local server takes no key
    report, _ = run(EndpointConfig(endpoint.base_url, "test-model", temperature=None), prompts(4)[2:])
    assert report.answered == 2
    assert len(endpoint.headers) == 4
    assert not any("Authorization" in headers for headers in endpoint.headers)
    assert "temperature" not in endpoint.requests[-1][1] and "max_tokens" not in endpoint.requests[-1][1]


@pytest.mark.parametrize("concurrency, check", [(2, lambda most: most == 2), (4, lambda most: most > 2)])
def test_concurrency_limit(endpoint: FakeEndpoint, concurrency: int, check: Callable[[int], bool]) -> None:
    endpoint.reply = lambda question, attempt: Reply(delay_s=0.1)
    report, results = run(config(endpoint, concurrency=concurrency), prompts(8))
    assert report.answered == 8 and len(results) == 8
    assert check(endpoint.max_in_flight), endpoint.max_in_flight


def test_a_server_that_fails_sometimes(endpoint: FakeEndpoint) -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

    def reply(question: str, attempt: int) -> Reply:
        first = attempt == 1
        return {
            "q0": Reply(500, {"error": {"message": "boom"}}) if first else Reply(),
            "q1": Reply(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}) if attempt <= 2 else Reply(),
            "q2": Reply(502, html) if first else Reply(),
            "q3": Reply(200, html) if first else Reply(),  # a proxy's page with a 200 status
            "q4": Reply(200, {"error": {"message": "overloaded"}}) if first else Reply(),  # not a completion
            "q5": Reply(503, {"error": {"message": "model is loading"}}),  # always
            "q6": Reply(400, {"error": {"message": "context too long"}}),  # not worth retrying
        }.get(question, Reply())

    endpoint.reply = reply
    progress: list[str] = []
    report, results = run(config(endpoint, retries=3), prompts(8), progress=lambda f, m: progress.append(m))

    assert {r: results[r].attempts for r in results} == {"r0": 2, "r1": 3, "r2": 2, "r3": 2, "r4": 2, "r5": 4,
                                                        "r6": 1, "r7": 1}
    assert all(results[f"r{i}"].answer == f"answer to q{i}" for i in (0, 1, 2, 3, 4, 7))
    assert results["r5"].answer is None and "HTTP 503" in results["r5"].error
    assert "model is loading" in results["r5"].error and "4 attempts" in results["r5"].error
    assert results["r6"].answer is None and "HTTP 400" in results["r6"].error
    assert report.asked == 8 and report.answered == 6 and report.failed == 2
    assert progress[-1] == "answered 8 of 8 (2 failed)"
    assert endpoint.questions() == Counter({"q0": 2, "q1": 3, "q2": 2, "q3": 2, "q4": 2, "q5": 4, "q6": 1,
                                            "q7": 1})


def test_an_html_page_every_time_ends_with_a_clear_error(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(200, b"<html><body>Gateway</body></html>")
    _, results = run(config(endpoint, retries=1), prompts(1))
    assert results["r0"].answer is None and results["r0"].attempts == 2
    assert "not JSON" in results["r0"].error and "text/html" in results["r0"].error


def test_a_timeout_is_retried_then_reported(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(delay_s=3.0) if question == "q1" else Reply()
    began = time.monotonic()
    report, results = run(config(endpoint, timeout_s=0.2, retries=1), prompts(3))
    assert time.monotonic() - began < 1.5
    assert results["r1"].answer is None and "timed out" in results["r1"].error
    assert results["r1"].attempts == 2 and endpoint.questions()["q1"] == 2
    assert results["r0"].answer == "answer to q0" and results["r2"].answer == "answer to q2"
    assert report.answered == 2 and report.failed == 1


def test_an_interrupted_run_resumes_where_it_stopped(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(delay_s=0.02)
    asked = prompts(12)
    stored: dict[str, str] = {}  # what the caller's database keeps
    stop = threading.Event()

    def store(result: AnswerResult) -> None:
        assert result.record_id not in stored
        stored[result.record_id] = result.answer
        if len(stored) == 3:
            stop.set()

    first = generate_answers(config(endpoint, concurrency=2), asked, set(), store, stop_event=stop)
    assert first.stopped and 3 <= first.asked < 12 and first.asked == len(stored)

    second = generate_answers(config(endpoint, concurrency=2), asked, set(stored), store)
    assert not second.stopped and second.skipped == first.asked and second.asked == 12 - first.asked
    assert stored == {f"r{i}": f"answer to q{i}" for i in range(12)}
    assert endpoint.questions() == Counter({f"q{i}": 1 for i in range(12)})


def test_ctrl_c_reports_what_is_in_flight_then_stops(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(delay_s=0.05)
    asked = prompts(10)
    stored: dict[str, str] = {}

    def store(result: AnswerResult) -> None:
        stored[result.record_id] = result.answer
        if len(stored) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_answers(config(endpoint, concurrency=3), asked, set(), store)
    interrupted = len(stored)
    assert 2 <= interrupted < 10
    assert len(endpoint.requests) == interrupted  # every request that was sent has been reported

    report, _ = run(config(endpoint, concurrency=3), asked, set(stored))
    assert report.asked == 10 - interrupted
    assert endpoint.questions() == Counter({f"q{i}": 1 for i in range(10)})


def test_a_stop_while_waiting_to_retry_does_not_wait(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(503, {"error": {"message": "down"}})
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    report, results = run(config(endpoint, backoff_s=20.0, retries=2), prompts(3), stop_event=stop)
    assert time.monotonic() - began < 2.0
    assert report.stopped and report.asked == 0 and results == {}  # unfinished: a resumed run asks them again


def test_a_run_stopped_before_it_starts_asks_nothing(endpoint: FakeEndpoint) -> None:
    stop = threading.Event()
    stop.set()
    report, results = run(config(endpoint), prompts(3), stop_event=stop)
    assert report.stopped and report.asked == 0 and results == {} and endpoint.requests == []


def test_retry_waits_grow_and_honour_retry_after_up_to_a_minute() -> None:
    cfg = EndpointConfig("http://127.0.0.1:8000/v1", "test-model", backoff_s=1.0)
    assert [_retry_delay(cfg, 0, after) for after in (0.0, 7.0, 120.0)] == [0.0, 7.0, 60.0]
    for retry in range(4):
        assert 0.5 * 2 ** retry <= _retry_delay(cfg, retry, None) <= 1.5 * 2 ** retry
    assert _retry_delay(cfg, 10, None) == 60.0


def test_a_refused_key_stops_the_run(endpoint: FakeEndpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    endpoint.reply = lambda question, attempt: Reply(401, {"error": {"message": "Incorrect API key provided"}})
    with pytest.raises(EndpointError) as refused:
        run(config(endpoint, api_key_env=KEY_ENV, concurrency=1, retries=3), prompts(5))
    assert "refused" in str(refused.value) and KEY_ENV in str(refused.value)
    assert "sk-wrong" not in str(refused.value)
    assert len(endpoint.requests) == 1  # not retried, and nothing more asked


def test_a_named_key_variable_that_is_unset_stops_the_run(endpoint: FakeEndpoint,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(EndpointError, match=KEY_ENV):
        run(config(endpoint, api_key_env=KEY_ENV), prompts(2))
    assert endpoint.requests == []


def test_an_unknown_model_or_a_bad_url_stops_the_run(endpoint: FakeEndpoint) -> None:
    endpoint.reply = lambda question, attempt: Reply(404, {"error": {"message": "model not found"}})
    with pytest.raises(EndpointError, match="test-model"):
        run(config(endpoint, retries=3), prompts(1))
    assert len(endpoint.requests) == 1
    with pytest.raises(EndpointError, match="http://"):
        run(EndpointConfig("127.0.0.1:8000/v1", "test-model", api_key_env=None), prompts(1))


def test_tool_calls_become_the_answer_when_there_is_no_text(endpoint: FakeEndpoint) -> None:
    calls = [{"id": "call_1", "type": "function",
              "function": {"name": "lookup_order", "arguments": "{\"order_id\": \"A17\"}"}},
             {"id": "call_2", "type": "function", "function": {"name": "escalate", "arguments": "not json"}}]
    endpoint.reply = lambda question, attempt: Reply(body=completion(None if question == "q0" else "Let me check.",
                                                                     calls))
    _, results = run(config(endpoint), prompts(2))
    assert json.loads(results["r0"].answer) == [{"name": "lookup_order", "arguments": {"order_id": "A17"}},
                                                {"name": "escalate", "arguments": "not json"}]
    assert results["r1"].answer == "Let me check."
