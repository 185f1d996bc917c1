"""Upload a file to an SFTP server (paramiko) so that readers only ever see complete files.

Host keys are never trusted on first use: a server whose key is not in ``host_key`` or
``known_hosts`` is refused before any password or key is sent.
"""

import base64
import io
import os
import posixpath
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from reports_pipeline.delivery.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from reports_pipeline.delivery.receipts import DeliveryReceipt
from reports_pipeline.delivery.target_paths import contained_path


@dataclass(frozen=True)
class SftpSettings:
    """Where to log in and which host key to expect.

    ``host_key`` is one public key line (``ssh-ed25519 AAAA...``, optionally preceded by a host
    as in known_hosts; several lines for several key types); ``known_hosts`` is a file path.
    ``private_key`` is the key text itself (PEM or OpenSSH), typically from an env var.
    """

    host: str
    port: int = 22
    username: str = ""
    password: str | None = field(default=None, repr=False)
    private_key: str | None = field(default=None, repr=False)
    private_key_passphrase: str | None = field(default=None, repr=False)
    host_key: str | None = None
    known_hosts: str | None = None
    timeout: float = 30.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


_COMPRESSION_EXTENSIONS = (".gz", ".bz2", ".xz", ".zst")
_KEY_CLASSES = {
    rsa.RSAPrivateKey: paramiko.RSAKey,
    ed25519.Ed25519PrivateKey: paramiko.Ed25519Key,
    ec.EllipticCurvePrivateKey: paramiko.ECDSAKey,
}


class _RefuseUnknownHostKey(paramiko.RejectPolicy):
    """Refuse, naming the key offered, so the operator can compare it with the real one."""

    def missing_host_key(self, client, hostname, key):
        raise PermanentDeliveryError(
            f"sftp {hostname} offered host key {key.get_name()} {key.fingerprint}, which is not"
            " the configured host_key or in known_hosts; check it with the server's"
            " administrator and set host_key"
        )


def _known_hosts_name(settings: SftpSettings) -> str:
    return settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"


def _parse_host_keys(settings: SftpSettings) -> list[paramiko.PKey]:
    key_types = {name for cls in paramiko.key_classes for name in cls.identifiers()}
    keys = []
    for line in (settings.host_key or "").splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] not in key_types:
            fields = fields[1:]  # a known_hosts line: the host names in front do not matter here
        try:
            key_type, data = fields[0], fields[1]
            keys.append(paramiko.PKey.from_type_string(key_type, base64.b64decode(data)))
        except (IndexError, ValueError, paramiko.SSHException, paramiko.UnknownKeyType):
            # ValueError covers bad base64 and key data that does not decode.
            raise PermanentDeliveryError(
                f"host_key for sftp {settings.where} is not a public key line"
                f" like 'ssh-ed25519 AAAA...': {line.strip()[:80]!r}"
            ) from None
    if settings.host_key and not keys:
        raise PermanentDeliveryError(f"host_key for sftp {settings.where} holds no key")
    return keys


def _trust_host_keys(client: paramiko.SSHClient, settings: SftpSettings) -> None:
    if not settings.host_key and not settings.known_hosts:
        raise PermanentDeliveryError(
            f"sftp {settings.where}: no host_key configured (nor known_hosts); the server's"
            " identity cannot be checked, so nothing is sent"
        )
    if settings.known_hosts:
        try:
            client.load_host_keys(settings.known_hosts)
        except OSError as exc:
            raise PermanentDeliveryError(
                f"cannot read known_hosts {settings.known_hosts}: {exc.strerror or exc}"
            ) from None
    for key in _parse_host_keys(settings):
        client.get_host_keys().add(_known_hosts_name(settings), key.get_name(), key)
    client.set_missing_host_key_policy(_RefuseUnknownHostKey())


def _private_key(settings: SftpSettings) -> paramiko.PKey | None:
    """Load RSA, Ed25519 or ECDSA keys in any PEM or OpenSSH encoding, encrypted or not."""
    if not settings.private_key:
        return None
    text = settings.private_key.strip()
    if "\\n" in text and "\n" not in text:  # env vars often carry the key with escaped newlines
        text = text.replace("\\n", "\n")
    data = text.encode() + b"\n"
    passphrase = (settings.private_key_passphrase or "").encode() or None
    load = (
        serialization.load_ssh_private_key
        if b"BEGIN OPENSSH PRIVATE KEY" in data
        else serialization.load_pem_private_key
    )
    problem = f"private_key for sftp user {settings.username} at {settings.where} cannot be loaded"
    try:
        try:
            loaded = load(data, passphrase)
        except TypeError:
            if passphrase is None:
                raise PermanentDeliveryError(
                    f"{problem}: it is encrypted and no private_key_passphrase is set"
                ) from None
            loaded = load(data, None)  # a passphrase for an unencrypted key is harmless
    except (ValueError, UnsupportedAlgorithm):
        raise PermanentDeliveryError(
            f"{problem}: not a PEM or OpenSSH private key, or a wrong private_key_passphrase"
        ) from None
    for key_type, key_class in _KEY_CLASSES.items():
        if isinstance(loaded, key_type):
            # paramiko reads OpenSSH text for every type it supports, unlike PKCS#8 PEM.
            openssh = loaded.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            return key_class.from_private_key(io.StringIO(openssh.decode()))
    raise PermanentDeliveryError(f"{problem}: only RSA, Ed25519 and ECDSA keys are supported")


def _error_for(exc: BaseException, settings: SftpSettings, action: str) -> DeliveryError:
    where = settings.where
    if isinstance(exc, paramiko.BadHostKeyException):
        return PermanentDeliveryError(
            f"sftp {where} offered host key {exc.key.get_name()} {exc.key.fingerprint}, but"
            f" {exc.expected_key.get_name()} {exc.expected_key.fingerprint} is expected; if the"
            " server's key really changed, set host_key to the new one"
        )
    if isinstance(exc, paramiko.IncompatiblePeer):
        return PermanentDeliveryError(f"sftp {where}: no SSH algorithms in common: {exc}")
    # Status replies of the SFTP server; local files are opened before connecting.
    if isinstance(exc, PermissionError):
        return PermanentDeliveryError(f"sftp {where} denied permission to {action}")
    if isinstance(exc, FileNotFoundError):
        return PermanentDeliveryError(f"sftp {where}: no such file or directory to {action}")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransientDeliveryError(f"sftp {where} timed out trying to {action}")
    if _refused(exc):
        return TransientDeliveryError(f"connection refused by {where}")
    detail = str(exc).strip(" :") or type(exc).__name__
    return TransientDeliveryError(f"sftp {where}: cannot {action}: {detail}")


def _refused(exc: BaseException) -> bool:
    """Nothing listens at the port (paramiko wraps the refusal of every address it tried)."""
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return all(isinstance(error, ConnectionRefusedError) for error in exc.errors.values())
    return isinstance(exc, ConnectionRefusedError)


@contextmanager
def _doing(settings: SftpSettings, action: str) -> Iterator[None]:
    """Turn paramiko's and the socket's exceptions into delivery errors naming ``action``."""
    try:
        yield
    except DeliveryError:
        raise
    except (paramiko.SSHException, EOFError, OSError) as exc:
        # `from None`: one clear line for the run log, not paramiko's internals.
        raise _error_for(exc, settings, action) from None


def _login(client: paramiko.SSHClient, settings: SftpSettings, pkey) -> None:
    try:
        client.connect(
            settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            pkey=pkey,
            timeout=settings.timeout,
            banner_timeout=settings.timeout,
            auth_timeout=settings.timeout,
            channel_timeout=settings.timeout,
            # Only the configured credentials: no agent, no ~/.ssh keys of whoever runs Dagster.
            allow_agent=False,
            look_for_keys=False,
        )
    except paramiko.AuthenticationException as exc:
        transport = client.get_transport()
        if transport is None or not transport.is_active():
            # paramiko reports a connection dropped mid-login as a failed authentication.
            raise TransientDeliveryError(
                f"sftp {settings.where} closed the connection during login"
            ) from None
        accepted = getattr(exc, "allowed_types", None)
        hint = f" (the server accepts: {', '.join(accepted)})" if accepted else ""
        raise PermanentDeliveryError(
            f"SFTP login refused for user {settings.username} at {settings.where}{hint}"
        ) from None
    except (paramiko.BadHostKeyException, paramiko.IncompatiblePeer):
        raise
    except paramiko.SSHException as exc:
        # No banner, a reset, or no reply within the timeout (paramiko then says
        # "No existing session"): all before any credentials were checked.
        raise TransientDeliveryError(
            f"sftp {settings.where}: SSH handshake failed: {exc}"
        ) from None


@contextmanager
def _session(settings: SftpSettings) -> Iterator[paramiko.SFTPClient]:
    if not settings.username:
        raise PermanentDeliveryError(f"sftp {settings.where}: no username configured")
    if not settings.password and not settings.private_key:
        raise PermanentDeliveryError(
            f"sftp {settings.where}: neither password nor private_key configured"
        )
    pkey = _private_key(settings)
    client = paramiko.SSHClient()
    try:
        _trust_host_keys(client, settings)
        with _doing(settings, "connect"):
            _login(client, settings, pkey)
        with _doing(settings, "start an SFTP session"):
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(settings.timeout)
        yield sftp
    except BaseException:
        transport = client.get_transport()
        client.close()
        if transport is not None and transport.is_alive():
            # After a failure paramiko's thread may still be reading; close() does not wait
            # for it, and it would log its traceback later, amid whatever runs next.
            transport.join(1.0)
        raise
    else:
        client.close()


def _stat_or_none(sftp: paramiko.SFTPClient, path: str) -> paramiko.SFTPAttributes | None:
    try:
        return sftp.stat(path)
    except FileNotFoundError:
        return None


def _is_dir(attrs: paramiko.SFTPAttributes | None) -> bool:
    return attrs is not None and attrs.st_mode is not None and stat.S_ISDIR(attrs.st_mode)


def _is_other_than_dir(attrs: paramiko.SFTPAttributes | None) -> bool:
    return attrs is not None and attrs.st_mode is not None and not stat.S_ISDIR(attrs.st_mode)


def _makedirs(sftp: paramiko.SFTPClient, directory: str, settings: SftpSettings) -> None:
    if directory in ("", ".", "/"):
        return
    attrs = _stat_or_none(sftp, directory)
    if attrs is None:
        _makedirs(sftp, posixpath.dirname(directory), settings)
        try:
            sftp.mkdir(directory)
        except OSError:
            if _stat_or_none(sftp, directory) is None:  # not made by someone else meanwhile
                raise
    elif _is_other_than_dir(attrs):
        raise PermanentDeliveryError(
            f"sftp {settings.where}: {directory} exists and is not a directory"
        )


def _split_extension(name: str) -> tuple[str, str]:
    stem, extension = posixpath.splitext(name)
    if extension.lower() in _COMPRESSION_EXTENSIONS:
        inner_stem, inner_extension = posixpath.splitext(stem)
        if inner_extension:
            return inner_stem, inner_extension + extension
    return stem, extension


def _timestamped(path: str, now: datetime, attempt: int) -> str:
    """``report.csv`` -> ``report_20261103T090000Z.csv`` (``-2``, ``-3``... if that exists too)."""
    directory, name = posixpath.split(path)
    stem, extension = _split_extension(name)
    utc = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    counter = f"-{attempt}" if attempt > 1 else ""
    return posixpath.join(directory, f"{stem}_{utc:%Y%m%dT%H%M%SZ}{counter}{extension}")


def _place_without_replacing(
    sftp: paramiko.SFTPClient, temp: str, path: str, now: datetime, settings: SftpSettings
) -> str:
    candidates = [path] + [_timestamped(path, now, attempt) for attempt in range(1, 10)]
    for candidate in candidates:
        if _stat_or_none(sftp, candidate) is not None:
            continue
        try:
            sftp.rename(temp, candidate)  # plain SFTP rename refuses to replace a file
            return candidate
        except (PermissionError, FileNotFoundError):
            raise
        except OSError:
            if _stat_or_none(sftp, candidate) is None:
                raise
            # someone else created it in the meantime: try the next name
    raise PermanentDeliveryError(
        f"sftp {settings.where}: {path} and its timestamped alternatives all exist"
    )


def _replace(sftp: paramiko.SFTPClient, temp: str, path: str) -> None:
    try:
        sftp.posix_rename(temp, path)
        return
    except (PermissionError, FileNotFoundError):
        raise
    except OSError:
        pass  # most likely no posix-rename extension on this server
    if _stat_or_none(sftp, path) is None:
        sftp.rename(temp, path)
        return
    # Plain rename never replaces: move the old file aside rather than deleting it first,
    # so a failed rename can put it back.
    aside = f"{temp}.old"
    sftp.rename(path, aside)
    try:
        sftp.rename(temp, path)
    except BaseException:
        _quietly(sftp.rename, aside, path)
        raise
    _quietly(sftp.remove, aside)


def _quietly(operation: Callable, *paths: str) -> None:
    try:
        operation(*paths)
    except (paramiko.SSHException, EOFError, OSError):
        pass  # best effort clean-up; the original error matters more


def _open_local(local_path: Path):
    try:
        return open(local_path, "rb")
    except OSError as exc:
        raise PermanentDeliveryError(
            f"cannot read {local_path} for upload: {exc.strerror or exc}"
        ) from None


def upload_via_sftp(
    local_path: Path,
    remote_path: str,
    settings: SftpSettings,
    *,
    overwrite: bool = True,
    now: datetime | None = None,
) -> DeliveryReceipt:
    """Upload ``local_path`` to ``remote_path``, creating missing directories.

    The bytes go to a hidden ``.<name>.<random>.part`` file in the target directory, whose
    size is checked before it is renamed into place. An existing file is replaced when
    ``overwrite``; otherwise the upload gets a UTC timestamp suffix from ``now``
    (``report_20261103T090000Z.csv``). Bad credentials, unknown host keys and permission
    errors: :class:`PermanentDeliveryError`; unreachable server, timeouts and dropped
    connections: :class:`TransientDeliveryError`. No message contains a secret.
    """
    now = now or datetime.now(timezone.utc)
    # normpath would resolve "a/../../b" to "../b", outside the folder meant: refuse it.
    remote_path = posixpath.normpath(contained_path(remote_path, remote_path, "sftp path"))
    directory, name = posixpath.split(remote_path)
    if not name or name in (".", ".."):
        raise PermanentDeliveryError(f"sftp remote path {remote_path!r} does not name a file")
    temp = posixpath.join(directory, f".{name}.{secrets.token_hex(4)}.part")
    with _open_local(local_path) as source:
        size = os.fstat(source.fileno()).st_size
        with _session(settings) as sftp:
            with _doing(settings, f"create directory {directory}"):
                _makedirs(sftp, directory, settings)
            with _doing(settings, f"look up {remote_path}"):
                if _is_dir(_stat_or_none(sftp, remote_path)):
                    raise PermanentDeliveryError(
                        f"sftp {settings.where}: {remote_path} is a directory"
                    )
            try:
                with _doing(settings, f"write {temp}"):
                    sftp.putfo(source, temp, file_size=size, confirm=False)
                with _doing(settings, f"check the size of {temp}"):
                    uploaded = sftp.stat(temp).st_size
                if uploaded != size:
                    raise TransientDeliveryError(
                        f"sftp {settings.where}: {temp} has {uploaded} bytes after upload,"
                        f" expected {size}"
                    )
                with _doing(settings, f"rename {temp} to {remote_path}"):
                    if overwrite:
                        _replace(sftp, temp, remote_path)
                        final = remote_path
                    else:
                        final = _place_without_replacing(sftp, temp, remote_path, now, settings)
            except BaseException:
                _quietly(sftp.remove, temp)
                raise
    return DeliveryReceipt(
        summary=f"uploaded {size} bytes to {final} on sftp {settings.where}",
        details={
            "host": settings.host,
            "port": settings.port,
            "remote_path": final,
            "bytes": size,
        },
    )


def _nearest_existing(sftp: paramiko.SFTPClient, directory: str) -> tuple[str, object]:
    path = posixpath.normpath(directory)
    while True:
        attrs = _stat_or_none(sftp, path)
        if attrs is not None:
            return path, attrs
        parent = posixpath.dirname(path) or "."
        if parent == path:
            raise FileNotFoundError(path)
        path = parent


def check_sftp(settings: SftpSettings, directory: str) -> str:
    """Log in and prove write access by creating and removing a probe file in ``directory``.

    A missing ``directory`` is not an error (uploads create it): the probe then goes to its
    nearest existing parent. Returns one line for ``reports check``; raises like
    :func:`upload_via_sftp`.
    """
    with _session(settings) as sftp:
        server_key = sftp.get_channel().get_transport().get_remote_server_key()
        with _doing(settings, f"look up {directory}"):
            existing, attrs = _nearest_existing(sftp, directory)
        if _is_other_than_dir(attrs):
            raise PermanentDeliveryError(
                f"sftp {settings.where}: {existing} exists and is not a directory"
            )
        probe = posixpath.join(existing, f".reports-pipeline-probe-{secrets.token_hex(4)}")
        with _doing(settings, f"create a file in {existing}"):
            with sftp.open(probe, "wx") as handle:
                handle.write(b"write test by reports_pipeline; safe to delete\n")
        with _doing(settings, f"remove the probe file {probe}"):
            sftp.remove(probe)
    where = f"sftp {settings.username}@{settings.where} (host key {server_key.fingerprint})"
    if existing == posixpath.normpath(directory):
        return f"{where}: logged in, {directory} is writable"
    return f"{where}: logged in, {directory} will be created in writable {existing}"
