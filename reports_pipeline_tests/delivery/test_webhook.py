import base64
import hashlib
import hmac
import os
from datetime import datetime, timezone

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.outbound import OutboundRules, checked_session
from reports_pipeline.delivery.webhook import WebhookSettings, check_webhook, send_webhook
from reports_pipeline_tests.http_server import RecordingHttpServer

TOKEN = "tok-9f8e7d6c5b4a"
PASSWORD = "correct-horse-battery-staple"
API_KEY = "key-0123456789abcdef"
SECRET = "whsec-5ecret-for-signing"
PAYLOAD = {"name": "weekly_sales", "period": "2024-W10", "rows": 3, "sha256": "ab" * 32}


@pytest.fixture
def server():
    with RecordingHttpServer() as server:
        server.respond("/hook", 200, {"received": True})
        yield server
    assert not server.handler_errors


# The test servers listen on loopback over plain http: allowed by name, as a deployment would.
LOCAL = {"allow_http": True, "allow_hosts": ("127.0.0.1",)}


def _settings(server, path="/hook", **overrides) -> WebhookSettings:
    return WebhookSettings(url=server.url_for(path), **{"timeout": 60.0, **LOCAL, **overrides})


def _expected_signature(timestamp: str, body: bytes) -> str:
    digest = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def test_payload_is_posted_as_json_and_the_receipt_has_the_answer(server):
    receipt = send_webhook(_settings(server), payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == PAYLOAD
    assert receipt.details["status"] == 200
    assert receipt.details["response"] == '{"received": true}'
    assert receipt.details["elapsed_ms"] >= 0
    assert "200" in receipt.summary


def test_payload_text_is_utf8(server):
    send_webhook(_settings(server), payload={"title": "Umsätze – 東京"})

    [request] = server.wait_for_requests(1)
    assert request.body.decode("utf-8") == '{"title": "Umsätze – 東京"}'


def test_put_is_used_when_configured(server):
    send_webhook(_settings(server, method="PUT"), payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    assert request.method == "PUT"


def test_file_mode_sends_the_exact_bytes_with_the_content_type(server, tmp_path):
    report = tmp_path / "report.parquet"
    content = os.urandom(3 * 1024 * 1024 + 17)  # larger than one read chunk
    report.write_bytes(content)

    receipt = send_webhook(
        _settings(server), file=report, content_type="application/vnd.apache.parquet"
    )

    [request] = server.wait_for_requests(1)
    assert request.body == content
    assert request.headers["Content-Type"] == "application/vnd.apache.parquet"
    assert request.headers["Content-Length"] == str(len(content))
    assert receipt.details["bytes_sent"] == len(content)


def test_signature_verifies_with_hmac_over_timestamp_and_body(server):
    now = datetime(2024, 3, 11, 6, 0, tzinfo=timezone.utc)

    send_webhook(_settings(server, signing_secret=SECRET), payload=PAYLOAD, now=now)

    [request] = server.wait_for_requests(1)
    timestamp = request.headers["X-Signature-Timestamp"]
    assert timestamp == str(int(now.timestamp()))
    assert hmac.compare_digest(
        request.headers["X-Signature"], _expected_signature(timestamp, request.body)
    )


def test_signature_covers_the_file_bytes(server, tmp_path):
    report = tmp_path / "report.csv"
    report.write_bytes(b"region,total\r\nnorth,12\r\n")

    send_webhook(_settings(server, signing_secret=SECRET), file=report, content_type="text/csv")

    [request] = server.wait_for_requests(1)
    assert request.body == report.read_bytes()
    expected = _expected_signature(request.headers["X-Signature-Timestamp"], request.body)
    assert request.headers["X-Signature"] == expected


def test_unsigned_requests_carry_no_signature_headers(server):
    send_webhook(_settings(server), payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    assert "X-Signature" not in request.headers
    assert "X-Signature-Timestamp" not in request.headers


def test_bearer_token_is_sent_in_authorization(server):
    send_webhook(_settings(server, bearer_token=TOKEN), payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_basic_auth_is_sent_in_authorization(server):
    settings = _settings(server, basic_username="reports", basic_password=PASSWORD)

    send_webhook(settings, payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    expected = base64.b64encode(f"reports:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_api_key_is_sent_in_its_own_header(server):
    settings = _settings(server, api_key_header="X-Api-Key", api_key=API_KEY)

    send_webhook(settings, payload=PAYLOAD)

    [request] = server.wait_for_requests(1)
    assert request.headers["X-Api-Key"] == API_KEY
    assert "Authorization" not in request.headers


def test_503_is_transient_and_the_next_call_succeeds(server):
    server.respond("/hook", 503, "maintenance", times=1)

    with pytest.raises(TransientDeliveryError, match="503"):
        send_webhook(_settings(server), payload=PAYLOAD)
    receipt = send_webhook(_settings(server), payload=PAYLOAD)

    assert receipt.details["status"] == 200
    assert len(server.wait_for_requests(2)) == 2


def test_429_is_transient(server):
    server.respond("/hook", 429, "slow down", times=1)

    with pytest.raises(TransientDeliveryError, match="429.*slow down"):
        send_webhook(_settings(server), payload=PAYLOAD)


def test_4xx_is_permanent_with_the_status_and_the_servers_answer(server):
    server.respond("/hook", 422, {"error": "unknown report name"})

    with pytest.raises(PermanentDeliveryError) as caught:
        send_webhook(_settings(server), payload=PAYLOAD)

    assert "422" in str(caught.value)
    assert "unknown report name" in str(caught.value)
    assert f"{server.url}/hook" in str(caught.value)


def test_a_long_error_body_is_truncated(server):
    server.respond("/hook", 400, "x" * 5000)

    with pytest.raises(PermanentDeliveryError) as caught:
        send_webhook(_settings(server), payload=PAYLOAD)

    assert "x" * 500 in str(caught.value)
    assert len(str(caught.value)) < 700


def test_a_redirect_is_permanent_and_not_followed(server):
    server.respond("/hook", 308, "", headers={"Location": "/moved?token=leaky"})
    server.respond("/moved", 200)

    with pytest.raises(PermanentDeliveryError, match="308.*Location: .*/moved") as caught:
        send_webhook(_settings(server), payload=PAYLOAD)

    assert "leaky" not in str(caught.value)
    assert [request.path for request in server.requests] == ["/hook"]


def test_a_server_slower_than_the_timeout_is_transient(server):
    server.hold("/hook")

    with pytest.raises(TransientDeliveryError, match="did not answer within 0.5s"):
        send_webhook(_settings(server, timeout=0.5), payload=PAYLOAD)


def test_an_unreachable_server_is_transient():
    with RecordingHttpServer() as stopped:
        url = stopped.url_for("/hook")
    # The port is closed now: connecting is refused.

    with pytest.raises(TransientDeliveryError, match="cannot reach webhook"):
        send_webhook(WebhookSettings(url=url, timeout=5.0, **LOCAL), payload=PAYLOAD)


def test_secrets_never_appear_in_errors_or_repr(server):
    server.respond("/hook", 401, "unauthorized")
    settings = _settings(
        server,
        path="/hook?api_key=query-secret",
        bearer_token=TOKEN,
        api_key_header="X-Api-Key",
        api_key=API_KEY,
        signing_secret=SECRET,
    )

    with pytest.raises(PermanentDeliveryError) as caught:
        send_webhook(settings, payload=PAYLOAD)

    for text in (str(caught.value), repr(settings)):
        for secret in (TOKEN, API_KEY, SECRET, "query-secret"):
            assert secret not in text


def test_the_password_never_appears_in_repr():
    settings = WebhookSettings(
        url="https://hooks.example.com/x", basic_username="reports", basic_password=PASSWORD
    )

    assert PASSWORD not in repr(settings)
    assert "reports" in repr(settings)


def test_connection_errors_do_not_show_the_query_string():
    with RecordingHttpServer() as stopped:
        url = stopped.url_for("/hook?api_key=query-secret")

    with pytest.raises(TransientDeliveryError) as caught:
        send_webhook(WebhookSettings(url=url, timeout=5.0, **LOCAL), payload=PAYLOAD)

    assert "query-secret" not in str(caught.value)


def test_payload_and_file_are_mutually_exclusive(server, tmp_path):
    with pytest.raises(ValueError, match="exactly one"):
        send_webhook(_settings(server))


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:25/x", "ftp://hooks.example.com/x"]
)
def test_settings_refuse_urls_that_are_not_http(url):
    with pytest.raises(ValueError, match="absolute https URL"):
        WebhookSettings(url=url, **LOCAL)


def test_plain_http_needs_allow_http(server):
    with pytest.raises(ValueError, match="plain http needs allow_http: true"):
        WebhookSettings(url=server.url_for("/hook"))


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.5", "[::1]", "[::ffff:7f00:1]"]
)
def test_loopback_private_and_link_local_hosts_are_refused_before_connecting(host):
    settings = WebhookSettings(url=f"http://{host}:9/hook", timeout=60.0, allow_http=True)

    with pytest.raises(PermanentDeliveryError, match="allow_hosts") as caught:
        send_webhook(settings, payload=PAYLOAD)

    assert "loopback, private or link-local" in str(caught.value)


def test_a_loopback_server_is_reached_when_its_host_is_allowed(server):
    for allowed in (("127.0.0.1",), ("127.0.0.0/8",)):
        send_webhook(_settings(server, allow_hosts=allowed), payload=PAYLOAD)
    with pytest.raises(PermanentDeliveryError, match="refused"):
        send_webhook(_settings(server, allow_hosts=("10.0.0.0/8",)), payload=PAYLOAD)
    assert len(server.wait_for_requests(2)) == 2


def test_the_address_actually_connected_to_is_checked(server):
    """Whatever a name resolved to beforehand, the connected socket's peer decides."""
    session = checked_session(OutboundRules(allow_http=True), "webhook")

    with pytest.raises(PermanentDeliveryError, match="127.0.0.1 is a loopback"):
        session.post(server.url_for("/hook"), json=PAYLOAD)

    assert server.requests == []


def test_a_redirect_to_the_metadata_address_is_not_followed(server):
    server.respond("/hook", 302, "", headers={"Location": "http://169.254.169.254/latest/"})

    with pytest.raises(PermanentDeliveryError, match="redirects are not followed"):
        send_webhook(_settings(server), payload=PAYLOAD)

    assert len(server.wait_for_requests(1)) == 1


def test_settings_refuse_methods_other_than_post_and_put():
    with pytest.raises(ValueError, match="POST or PUT"):
        WebhookSettings(url="https://hooks.example.com/x", method="GET")


def test_settings_refuse_credentials_in_the_url():
    with pytest.raises(ValueError, match="must not contain credentials") as caught:
        WebhookSettings(url=f"https://reports:{PASSWORD}@hooks.example.com/x")

    assert PASSWORD not in str(caught.value)


def test_check_reports_what_head_answered(server):
    server.respond("/hook", 405, "use POST")

    result = check_webhook(_settings(server, bearer_token=TOKEN))

    [request] = server.wait_for_requests(1)
    assert request.method == "HEAD"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "reachable" in result
    assert "HEAD answered 405" in result


def test_check_falls_back_to_options_when_head_is_not_implemented(server):
    server.respond("/hook", 501, times=1)
    server.respond("/hook", 204)

    result = check_webhook(_settings(server))

    assert [request.method for request in server.requests] == ["HEAD", "OPTIONS"]
    assert "OPTIONS answered 204" in result


def test_check_of_a_failing_server_is_transient(server):
    server.respond("/hook", 502)

    with pytest.raises(TransientDeliveryError, match="502"):
        check_webhook(_settings(server))
