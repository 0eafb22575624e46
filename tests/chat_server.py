"""A small OpenAI-compatible chat endpoint for tests, on 127.0.0.1: `answer(request body)` decides
each reply, as (HTTP status, assistant text); every request body is kept in `requests`, and its
Authorization header (or None) in `authorizations`."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator

Answer = Callable[[dict], tuple[int, str]]


class ChatServer:
    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[dict] = []
        self.authorizations: list[str | None] = []
        self.lock = threading.Lock()
        self.url = ""

    def questions(self) -> list[str]:
        with self.lock:
            return [body["messages"][-1]["content"] for body in self.requests]


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with server.lock:
                server.requests.append(body)
                server.authorizations.append(self.headers.get("Authorization"))
            status, text = server.answer(body)
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}
                                 if status == 200 else {"error": {"message": text}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    return Handler


@contextmanager
def serve_chat(answer: Answer) -> Iterator[ChatServer]:
    """Serve `answer` at ChatServer.url (a base URL ending in /v1) until the block ends."""
    chat = ChatServer(answer)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(chat))
    chat.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield chat
    finally:
        httpd.shutdown()
        httpd.server_close()
