"""A real HTTP server on 127.0.0.1 for tests: records every request, answers as scripted.

    with RecordingHttpServer() as server:
        server.respond("/hook", 503, "busy", times=1)   # first call only
        server.respond("/hook", 200, {"ok": True})      # every call after that
        settings = WebhookSettings(
            url=server.url_for("/hook"), allow_http=True, allow_hosts=("127.0.0.1",)
        )
        send_webhook(settings, payload={...})
        [request] = server.wait_for_requests(1)
        assert request.json() == {...}

``handle(path, function)`` computes answers from the request instead (fake APIs such as Slack's),
and ``hold(path)`` keeps a request waiting until the server stops, for client timeouts.
Test-only: it lives in the tests package so it is never shipped.
"""

import http.client
import json
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; ``headers`` look up names case-insensitively."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        """The body parsed as JSON."""
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded`` (last value wins)."""
        pairs = urllib.parse.parse_qsl(self.body.decode(), keep_blank_values=True)
        return dict(pairs)

    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class CannedResponse:
    """An answer: ``body`` may be bytes, text or a JSON-serialisable dict/list."""

    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        return self.body, headers


Handler = Callable[[RecordedRequest], CannedResponse]

_NOT_FOUND = CannedResponse(404, "no response scripted for this path")
# A held request is released at stop(); this cap only keeps a forgotten server from hanging CI.
_MAX_HOLD_SECONDS = 60


class _RequestHandler(BaseHTTPRequestHandler):
    server: "_Server"

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()  # CRLF after each chunk
                if size == 0:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
        )
        answer = self.server.owner._answer(request)
        if answer.hold:
            self.server.owner._released.wait(_MAX_HOLD_SECONDS)
        body, headers = answer.encoded()
        try:
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout expired while the request was held)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format, *args):
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: "RecordingHttpServer"):
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _RequestHandler)


class RecordingHttpServer:
    """An HTTP server on 127.0.0.1 and a free port, serving from a background thread.

    Answers per path, in order: one-off answers queued with ``respond(..., times=N)`` or
    ``hold``, then the standing answer of ``respond`` (no ``times``) or ``handle``, else 404.
    """

    host = "127.0.0.1"

    def __init__(self):
        self._requests: list[RecordedRequest] = []
        self._queued: dict[str, list[CannedResponse]] = {}
        self._standing: dict[str, Handler] = {}
        self._changed = threading.Condition()
        self._released = threading.Event()
        self.handler_errors: list[Exception] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "RecordingHttpServer":
        """Start listening; ``port`` and ``url`` are valid once this returns."""
        self._server = _Server(self)
        # A short poll interval keeps stop() (which waits for the next poll) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="recording-http-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests, then stop serving and close the socket."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)

    def __enter__(self) -> "RecordingHttpServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str) -> str:
        return self.url + path

    def respond(
        self,
        path: str,
        status: int = 200,
        body: bytes | str | dict | list = b"",
        *,
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer requests to ``path``: the next ``times`` ones, or (None) every one after those."""
        answer = CannedResponse(status, body, headers or {})
        with self._changed:
            if times is None:
                self._standing[path] = lambda request: answer
            else:
                self._queued.setdefault(path, []).extend([answer] * times)

    def handle(self, path: str, handler: Handler) -> None:
        """Answer every request to ``path`` (after any queued answers) with ``handler(request)``.

        The handler runs on a server thread; an exception in it becomes a 500 answer and is
        kept in :attr:`handler_errors` (check it at teardown so a broken fake fails the test).
        """
        with self._changed:
            self._standing[path] = handler

    def hold(self, path: str, *, times: int = 1, status: int = 200, body=b"") -> None:
        """Keep the next ``times`` requests to ``path`` unanswered until :meth:`stop`."""
        answer = CannedResponse(status, body, {}, hold=True)
        with self._changed:
            self._queued.setdefault(path, []).extend([answer] * times)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Everything received so far, oldest first (a copy)."""
        with self._changed:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path == path]

    def wait_for_requests(self, count: int, timeout: float = 120) -> list[RecordedRequest]:
        """Block until at least ``count`` requests arrived; AssertionError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"expected {count} request(s) within {timeout}s, got {len(self._requests)}"
                )
            return list(self._requests)

    def _answer(self, request: RecordedRequest) -> CannedResponse:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            queued = self._queued.get(request.path)
            if queued:
                return queued.pop(0)
            handler = self._standing.get(request.path)
        if handler is None:
            return _NOT_FOUND
        try:
            return handler(request)
        except Exception as exc:  # surface handler bugs as an answer, not a hung client
            self.handler_errors.append(exc)
            return CannedResponse(500, f"test handler failed: {type(exc).__name__}: {exc}")
