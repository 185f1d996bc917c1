"""A TCP proxy on 127.0.0.1 in front of a real server, to make that server unreachable on cue.

Closed, the proxy keeps its port bound but does not listen: the kernel answers every connection
attempt with a reset, which clients report as "connection refused", exactly as for a server
that is down. Open, it relays bytes both ways. ``cut()`` drops every live connection at once,
as a server restart does.

The proxy runs threads of this process: a client call that blocks without releasing the
interpreter lock hangs on it. psycopg2's ``cancel()`` is one (a query timeout): reach the server
directly in tests that cancel queries.
"""

import socket
import threading
from urllib.parse import urlsplit, urlunsplit

_CHUNK = 64 * 1024


class TcpProxy:
    """``with TcpProxy(("127.0.0.1", 5432)) as proxy:``; starts closed unless ``open=True``."""

    def __init__(self, target: tuple[str, int], *, open: bool = False):
        self.target = target
        self._lock = threading.Lock()
        self._listener = self._bound_socket(0)
        self.host, self.port = self._listener.getsockname()
        self._acceptor: threading.Thread | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self.accepted = 0  # connections relayed since the proxy was created
        if open:
            self.open()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
        self._listener.close()

    @property
    def is_open(self) -> bool:
        return self._acceptor is not None

    def url(self, url: str) -> str:
        """``url`` (e.g. ``postgresql://user@127.0.0.1:5432/db``) pointed at the proxy instead."""
        parts = urlsplit(url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}{self.host}:{self.port}"))

    def open(self) -> None:
        """Accept connections from now on and relay them to the target."""
        with self._lock:
            if self._acceptor is not None:
                return
            self._listener.listen(16)
            self._acceptor = threading.Thread(
                target=self._accept, args=(self._listener,), name="tcp-proxy-accept", daemon=True
            )
            self._acceptor.start()

    def close(self) -> None:
        """Refuse new connections (live ones stay: ``cut()`` drops them)."""
        with self._lock:
            acceptor, self._acceptor = self._acceptor, None
            if acceptor is None:
                return
            listener = self._listener
            # A socket that listened cannot stop: a new one takes the port, bound, not listening.
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            listener.close()
            self._listener = self._bound_socket(self.port)
        acceptor.join()

    def cut(self) -> int:
        """Drop every live connection, both sides; the number dropped."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for side in pair:
                # Only shut down: the relaying threads, woken by it, close the sockets.
                _shut_down(side)
        return len(pairs)

    def _bound_socket(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        return listener

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                server = socket.create_connection(self.target, timeout=30)
            except OSError:
                _shut(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._pairs.append((client, server))
                self.accepted += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=_relay, args=(source, sink), name="tcp-proxy-relay", daemon=True
                ).start()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(_CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass  # cut, or the other side went away
    _shut(source)
    _shut(sink)


def _shut_down(side: socket.socket) -> None:
    try:
        side.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut down or closed


def _shut(side: socket.socket) -> None:
    _shut_down(side)
    side.close()
