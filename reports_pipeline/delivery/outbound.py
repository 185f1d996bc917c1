"""Where webhooks and Slack may send: public https endpoints, and private ones only when listed.

A connection's URL could point at the machine itself, the cloud metadata address
(169.254.169.254) or another internal service, and a report's data or a bearer token would go
there. So a URL must be ``https`` (``http`` only with ``allow_http``), and every address it
leads to must be public unless the connection names the host, the address or its network in
``allow_hosts``. Webhooks check the address each connection actually reaches, so a name that
resolves to something else a moment later (DNS rebinding) gains nothing; see
``checked_session``.
"""

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from reports_pipeline.delivery.errors import PermanentDeliveryError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def allow_list_entry(entry: str) -> str:
    """``entry`` if it is a host name, an IP address or a network (``10.1.0.0/16``)."""
    text = entry.strip().lower().rstrip(".")
    try:
        ipaddress.ip_network(text, strict=False)
        return text
    except ValueError:
        pass
    labels = text.split(".")
    if text and all(label and len(label) <= 63 for label in labels) and all(
        label.replace("-", "").replace("_", "").isalnum() for label in labels
    ):
        return text
    raise ValueError(
        f"{entry!r} is not a host name, an IP address or a network such as 10.1.0.0/16"
    )


def _unmapped(address: Address) -> Address:
    """``::ffff:127.0.0.1`` is 127.0.0.1: judge an IPv4-mapped address as its IPv4 one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet (not loopback, private, link-local...)."""
    address = _unmapped(address)
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class OutboundRules:
    """A connection's ``allow_http`` and ``allow_hosts``."""

    allow_http: bool = False
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, allow_http: bool, allow_hosts: Iterable[str]) -> "OutboundRules":
        return cls(allow_http, tuple(allow_list_entry(host) for host in allow_hosts))

    def check_url(self, url: str, what: str) -> str:
        """The host of ``url``; :class:`PermanentDeliveryError` if its form is not allowed."""
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            hint = "" if self.allow_http else " (http only with allow_http: true)"
            raise PermanentDeliveryError(
                f"{what} must be an https URL{hint}, not {parts.scheme or 'one without a scheme'}"
            )
        if not parts.hostname:
            raise PermanentDeliveryError(f"{what} has no host")
        return parts.hostname

    def check_address(self, host: str, address: str, what: str) -> None:
        """Refuse ``address`` (where ``host`` led) unless public or allowed."""
        ip = _unmapped(ipaddress.ip_address(address.split("%", 1)[0]))
        if is_public(ip) or self.allows(host, ip):
            return
        shown = host if host == str(ip) else f"{host} ({ip})"
        raise PermanentDeliveryError(
            f"{what} {shown} is a loopback, private or link-local address: refused; if it is"
            f" meant, list it in the connection's allow_hosts: [{host}]"
        )

    def check_destination(self, url: str, what: str) -> None:
        """Check ``url`` and every address its host resolves to (resolve, then check)."""
        host = self.check_url(url, what)
        try:
            found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            return  # the client's own attempt says it cannot resolve the name
        for *_, sockaddr in found:
            self.check_address(host, sockaddr[0], what)

    def allows(self, host: str, ip: Address) -> bool:
        """Whether the allow list names ``host``, or ``ip`` or a network that holds it."""
        for entry in self.allow_hosts:
            if entry == host.lower().rstrip("."):
                return True
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


def checked_session(rules: OutboundRules, what: str):
    """A requests session whose every connection is checked against ``rules`` once made.

    The check reads the connected socket's peer address, so it holds whatever the name
    resolved to. Proxies from the environment are not used: through one, the address reached
    would be the proxy's, and the destination's could not be checked.
    """
    import requests  # here, so that validating connections.yaml does not import it
    import urllib3

    def checked(sock: socket.socket, host: str) -> socket.socket:
        try:
            rules.check_address(host, sock.getpeername()[0], what)
        except BaseException:
            sock.close()
            raise
        return sock

    class CheckedHTTP(urllib3.connection.HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return checked(super()._new_conn(), self.host)

    class CheckedHTTPS(urllib3.connection.HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return checked(super()._new_conn(), self.host)

    class CheckedHTTPPool(urllib3.HTTPConnectionPool):
        ConnectionCls = CheckedHTTP

    class CheckedHTTPSPool(urllib3.HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPS

    class CheckedAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {
                "http": CheckedHTTPPool,
                "https": CheckedHTTPSPool,
            }

    session = requests.Session()
    session.trust_env = False
    session.mount("http://", CheckedAdapter())
    session.mount("https://", CheckedAdapter())
    return session
