"""A real SFTP server (asyncssh) on 127.0.0.1 for tests: records operations, fails on demand.

    with SftpTestServer() as server:
        upload_via_sftp(path, "/outbound/report.csv", server.settings())
        assert server.path("/outbound/report.csv").read_bytes() == path.read_bytes()

The server runs in its own event loop thread and serves a temporary folder (``root``) as
``/``. Test-only: it lives in the tests package so it is never shipped.
"""

import asyncio
import posixpath
import tempfile
import threading
from pathlib import Path

import asyncssh
from asyncssh.constants import FXF_WRITE

from reports_pipeline.delivery.sftp import SftpSettings


class _TestSshServer(asyncssh.SSHServer):
    """Password and public-key login for the one test user; can drop connections on demand."""

    def __init__(self, owner: "SftpTestServer"):
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn):
        self._conn = conn
        self._owner._connections.add(conn)
        if self._owner._take("connection"):
            conn.abort()

    def connection_lost(self, exc):
        self._owner._connections.discard(self._conn)

    def begin_auth(self, username):
        self._owner._record("login", username)
        if self._owner._take("login"):
            self._conn.abort()
        return True

    def password_auth_supported(self):
        return True

    def validate_password(self, username, password):
        return username == self._owner.username and password == self._owner.password

    def public_key_auth_supported(self):
        return True

    def validate_public_key(self, username, key):
        # asyncssh then checks that the client holds the matching private key.
        return username == self._owner.username and self._owner._is_authorized(key)


class _RecordingSftpServer(asyncssh.SFTPServer):
    """Serves ``owner.root`` as ``/``, records every change, refuses or fails on demand."""

    def __init__(self, chan, owner: "SftpTestServer"):
        super().__init__(chan, chroot=str(owner.root))
        self._owner = owner

    @staticmethod
    def _client_path(path: bytes) -> str:
        return posixpath.normpath(posixpath.join("/", path.decode()))

    def _changing(self, operation: str, *paths: bytes) -> None:
        names = [self._client_path(path) for path in paths]
        self._owner._record(operation, *names)
        if any(self._owner._is_denied(name) for name in names):
            raise asyncssh.SFTPPermissionDenied("Permission denied")

    def open(self, path, pflags, attrs):
        if pflags & FXF_WRITE:
            self._changing("open", path)
        return super().open(path, pflags, attrs)

    def write(self, file_obj, offset, data):
        if self._owner._take("write"):
            self.channel.get_connection().abort()
            raise asyncssh.SFTPConnectionLost("connection dropped by the test server")
        return super().write(file_obj, offset, data)

    def mkdir(self, path, attrs):
        self._changing("mkdir", path)
        return super().mkdir(path, attrs)

    def remove(self, path):
        self._changing("remove", path)
        return super().remove(path)

    def _check_rename(self, operation: str, oldpath: bytes, newpath: bytes) -> None:
        self._changing(operation, oldpath, newpath)
        if self._owner._take_rename_failure(self._client_path(newpath)):
            raise asyncssh.SFTPFailure("rename failed (test server)")

    def rename(self, oldpath, newpath):
        self._check_rename("rename", oldpath, newpath)
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        if not self._owner.posix_rename:
            raise asyncssh.SFTPOpUnsupported("Operation unsupported")
        self._check_rename("posix_rename", oldpath, newpath)
        return super().posix_rename(oldpath, newpath)


class SftpTestServer:
    """A started-on-demand SFTP server on 127.0.0.1 and a free port.

    Attributes: ``host``, ``port`` (set by :meth:`start`), ``root`` (the local folder served
    as ``/``), ``username``/``password``, ``host_key`` (``ssh-ed25519 AAAA...``) and its
    ``host_key_fingerprint`` (``SHA256:...``), ``client_private_key`` (OpenSSH text of an
    authorized Ed25519 key). ``posix_rename=False`` makes the server answer "unsupported" to
    the posix-rename extension, like some commercial servers.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        username: str = "reports",
        password: str = "sftp-test-password",
        posix_rename: bool = True,
    ):
        self.username = username
        self.password = password
        self.posix_rename = posix_rename
        self.port: int | None = None
        self._tempdir = tempfile.TemporaryDirectory(prefix="sftp-test-root-")
        self.root = Path(self._tempdir.name)
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = " ".join(self._host_key.export_public_key().decode().split()[:2])
        self.host_key_fingerprint = self._host_key.get_fingerprint("sha256")
        self._lock = threading.Lock()
        self._authorized: set[bytes] = set()
        self._events: list[tuple[str, ...]] = []
        self._pending_failures = {"connection": 0, "login": 0, "write": 0}
        self._rename_failures: list[str | None] = []
        self._denied: list[str] = []
        self._connections: set = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor = None
        self.client_private_key = self.new_client_key()

    def start(self) -> "SftpTestServer":
        """Start listening; ``port`` is set once this returns."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="sftp-test-server", daemon=True
        )
        self._thread.start()
        self._acceptor = self._call(self._listen())
        self.port = self._acceptor.get_port()
        return self

    async def _listen(self):
        return await asyncssh.listen(
            self.host,
            0,
            server_host_keys=[self._host_key],
            server_factory=lambda: _TestSshServer(self),
            sftp_factory=lambda chan: _RecordingSftpServer(chan, self),
            allow_scp=False,
        )

    async def _close(self) -> None:
        self._acceptor.close()
        await self._acceptor.wait_closed()
        for conn in list(self._connections):
            conn.abort()

    def _call(self, coroutine, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop listening, drop open connections and delete ``root``; safe to call twice."""
        if self._loop is not None:
            self._call(self._close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()
            self._loop = None
        self._tempdir.cleanup()

    def __enter__(self) -> "SftpTestServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def settings(self, **overrides) -> SftpSettings:
        """Client settings for this server: password login, host key pinned, a generous timeout."""
        values = {
            "host": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "host_key": self.host_key,
            "timeout": 60.0,
        }
        return SftpSettings(**{**values, **overrides})

    def new_client_key(
        self, algorithm: str = "ssh-ed25519", format: str = "openssh", passphrase: str | None = None
    ) -> str:
        """Generate and authorize a client key; returns its private key text.

        ``algorithm``: ``ssh-ed25519``, ``ssh-rsa``, ``ecdsa-sha2-nistp256``...; ``format``:
        ``openssh``, ``pkcs1-pem`` (RSA/ECDSA) or ``pkcs8-pem``.
        """
        key = asyncssh.generate_private_key(algorithm)
        with self._lock:
            self._authorized.add(key.public_data)
        # Few bcrypt rounds for encrypted OpenSSH keys: the default 128 take seconds.
        return key.export_private_key(format, passphrase, rounds=8, ignore_few_rounds=True).decode()

    def path(self, remote_path: str) -> Path:
        """The local file behind ``remote_path`` (absolute, as the client sees it)."""
        return self.root / remote_path.lstrip("/")

    def files(self) -> list[str]:
        """Every file under ``root`` as client paths, sorted (hidden ones included)."""
        return sorted(
            "/" + path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file()
        )

    @property
    def events(self) -> list[tuple[str, ...]]:
        """What clients asked for, oldest first.

        ``("login", user)``, ``("open", path)`` (for writing), ``("mkdir", path)``,
        ``("remove", path)``, ``("rename"|"posix_rename", old, new)``.
        """
        with self._lock:
            return list(self._events)

    def drop_next_connections(self, count: int = 1) -> None:
        """Close the next ``count`` connections as soon as they are accepted."""
        self._add_failures("connection", count)

    def drop_next_logins(self, count: int = 1) -> None:
        """Close the next ``count`` connections when the client starts to log in."""
        self._add_failures("login", count)

    def drop_next_writes(self, count: int = 1) -> None:
        """Close the connection on each of the next ``count`` file writes."""
        self._add_failures("write", count)

    def fail_next_renames(self, count: int = 1, *, to: str | None = None) -> None:
        """Answer a generic failure to the next ``count`` renames (to path ``to`` if given);
        the connection stays up."""
        with self._lock:
            self._rename_failures.extend([to] * count)

    def deny_writes(self, directory: str) -> None:
        """Answer "permission denied" to any change inside ``directory`` (a client path)."""
        with self._lock:
            self._denied.append(posixpath.normpath(directory))

    def _add_failures(self, kind: str, count: int) -> None:
        with self._lock:
            self._pending_failures[kind] += count

    def _take(self, kind: str) -> bool:
        with self._lock:
            if self._pending_failures[kind] <= 0:
                return False
            self._pending_failures[kind] -= 1
            return True

    def _take_rename_failure(self, newpath: str) -> bool:
        with self._lock:
            for index, to in enumerate(self._rename_failures):
                if to is None or to == newpath:
                    del self._rename_failures[index]
                    return True
            return False

    def _record(self, *event: str) -> None:
        with self._lock:
            self._events.append(event)

    def _is_denied(self, path: str) -> bool:
        with self._lock:
            return any(path.startswith(directory.rstrip("/") + "/") for directory in self._denied)

    def _is_authorized(self, key) -> bool:
        with self._lock:
            return key.public_data in self._authorized
