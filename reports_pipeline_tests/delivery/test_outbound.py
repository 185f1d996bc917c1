import ipaddress

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError
from reports_pipeline.delivery.outbound import OutboundRules, allow_list_entry, is_public


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
    ],
)
def test_only_addresses_on_the_public_internet_are_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("entry", "kept"),
    [
        ("Hooks.Internal.", "hooks.internal"),
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "::1"),
    ],
)
def test_allow_list_entries_are_names_addresses_or_networks(entry, kept):
    assert allow_list_entry(entry) == kept


@pytest.mark.parametrize("entry", ["", "not a host", "http://x", "a..b", "x" * 64 + ".com"])
def test_anything_else_in_an_allow_list_is_refused(entry):
    with pytest.raises(ValueError, match="not a host name, an IP address or a network"):
        allow_list_entry(entry)


def test_an_ipv4_mapped_address_is_allowed_by_its_ipv4_entry():
    OutboundRules.of(False, ["127.0.0.1"]).check_address("h", "::ffff:127.0.0.1", "webhook")


def test_a_name_is_resolved_and_every_address_checked():
    rules = OutboundRules(allow_http=True)
    with pytest.raises(PermanentDeliveryError, match=r"localhost \(127.0.0.1\) is a loopback"):
        rules.check_destination("http://localhost:9/in", "webhook")
    OutboundRules.of(True, ["localhost"]).check_destination("http://localhost:9/in", "webhook")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "//no-scheme/", "ftp://x/"])
def test_only_https_urls_unless_http_is_allowed(url):
    with pytest.raises(PermanentDeliveryError, match="must be an https URL"):
        OutboundRules.of(True, []).check_url(url, "webhook")
    with pytest.raises(PermanentDeliveryError, match="allow_http: true"):
        OutboundRules().check_url("http://hooks.example.com/", "webhook")
