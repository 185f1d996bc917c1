import json
import os

import pytest

from reports_pipeline.delivery.errors import PermanentDeliveryError, TransientDeliveryError
from reports_pipeline.delivery.slack import SlackSettings, check_slack, post_to_slack
from reports_pipeline_tests.http_server import CannedResponse, RecordedRequest, RecordingHttpServer

TOKEN = "xoxb-1111-2222-test-token"
FINANCE_ID = "C0FINANCE01"
CHANNELS_BY_PAGE = {
    "": ([{"id": "C0GENERAL01", "name": "general"}], "page-2"),
    "page-2": ([{"id": FINANCE_ID, "name": "finance"}], ""),
}


# The test Slack listens on loopback over plain http: allowed by name, as a deployment would.
LOCAL = {"allow_http": True, "allow_hosts": ("127.0.0.1",)}


class FakeSlack:
    """The Slack Web API methods we use, served by a real HTTP server under ``/api/``.

    Like Slack, every method answers HTTP 200 with ``{"ok": false, "error": ...}`` on failure,
    and the upload URL from files.getUploadURLExternal points back at this server.
    """

    def __init__(self, server: RecordingHttpServer):
        self.server = server
        self.members_of = {FINANCE_ID}
        for method, handler in {
            "auth.test": self._auth_test,
            "conversations.list": self._conversations_list,
            "chat.postMessage": self._post_message,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }.items():
            server.handle(f"/api/{method}", self._authenticated(handler))
        server.respond("/upload/F0REPORT01", 200, "OK - uploaded")

    def settings(self, token: str = TOKEN) -> SlackSettings:
        return SlackSettings(
            token=token, base_url=self.server.url_for("/api/"), timeout=60.0, **LOCAL
        )

    def calls(self, method: str) -> list[RecordedRequest]:
        return self.server.requests_to(f"/api/{method}")

    def _authenticated(self, handler):
        def checked(request: RecordedRequest) -> CannedResponse:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return CannedResponse(200, {"ok": False, "error": "invalid_auth"})
            return handler(request)

        return checked

    def _channel(self, reference: str) -> str | None:
        names = {"#general": "C0GENERAL01", "#finance": FINANCE_ID}
        if reference in names.values():
            return reference
        return names.get(reference)

    def _auth_test(self, request):
        return CannedResponse(
            200,
            {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "reports-bot",
                "team_id": "T0ACME0001",
                "user_id": "U0BOT00001",
                "bot_id": "B0BOT00001",
            },
        )

    def _conversations_list(self, request):
        channels, next_cursor = CHANNELS_BY_PAGE[request.form().get("cursor", "")]
        return CannedResponse(
            200,
            {"ok": True, "channels": channels, "response_metadata": {"next_cursor": next_cursor}},
        )

    def _post_message(self, request):
        body = request.json()
        channel = self._channel(body["channel"])
        if channel is None:
            return CannedResponse(200, {"ok": False, "error": "channel_not_found"})
        return CannedResponse(
            200, {"ok": True, "channel": channel, "ts": "1710136800.000100", "message": body}
        )

    def _get_upload_url(self, request):
        return CannedResponse(
            200,
            {
                "ok": True,
                "upload_url": self.server.url_for("/upload/F0REPORT01"),
                "file_id": "F0REPORT01",
            },
        )

    def _complete_upload(self, request):
        form = request.form()
        if form["channel_id"] not in self.members_of:
            return CannedResponse(200, {"ok": False, "error": "not_in_channel"})
        [uploaded] = json.loads(form["files"])
        return CannedResponse(
            200,
            {
                "ok": True,
                "files": [
                    {
                        "id": uploaded["id"],
                        "title": uploaded.get("title"),
                        "permalink": "https://acme.slack.com/files/U0BOT00001/F0REPORT01",
                    }
                ],
            },
        )


@pytest.fixture
def slack():
    with RecordingHttpServer() as server:
        yield FakeSlack(server)
    assert not server.handler_errors


@pytest.fixture
def report(tmp_path):
    path = tmp_path / "weekly_sales_2024-W10.xlsx"
    path.write_bytes(os.urandom(70_000))
    return path


def test_a_message_without_a_file_uses_chat_post_message(slack):
    receipt = post_to_slack(slack.settings(), "#finance", text="Weekly sales: 3 rows")

    [call] = slack.calls("chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.json() == {"channel": "#finance", "text": "Weekly sales: 3 rows"}
    assert receipt.details == {"channel": FINANCE_ID, "ts": "1710136800.000100"}
    assert slack.calls("conversations.list") == []


def test_a_file_is_uploaded_with_the_message_to_the_resolved_channel(slack, report):
    receipt = post_to_slack(
        slack.settings(), "#finance", text="Weekly sales", file=report, title="Sales W10"
    )

    [get_url] = slack.calls("files.getUploadURLExternal")
    assert get_url.form() == {"filename": report.name, "length": str(report.stat().st_size)}
    [upload] = slack.server.requests_to("/upload/F0REPORT01")
    assert upload.method == "POST"
    assert upload.body == report.read_bytes()
    [complete] = slack.calls("files.completeUploadExternal")
    form = complete.form()
    assert complete.headers["Authorization"] == f"Bearer {TOKEN}"
    assert form["channel_id"] == FINANCE_ID
    assert form["initial_comment"] == "Weekly sales"
    assert json.loads(form["files"]) == [{"id": "F0REPORT01", "title": "Sales W10"}]
    assert receipt.details["file_id"] == "F0REPORT01"
    assert receipt.details["channel"] == FINANCE_ID


def test_channel_names_are_resolved_across_conversation_list_pages(slack, report):
    post_to_slack(slack.settings(), "#finance", text="x", file=report)

    pages = [call.form() for call in slack.calls("conversations.list")]
    assert [page.get("cursor") for page in pages] == [None, "page-2"]
    assert pages[0]["types"] == "public_channel,private_channel"


def test_a_channel_id_is_used_without_a_lookup(slack, report):
    post_to_slack(slack.settings(), FINANCE_ID, text="x", file=report)

    assert slack.calls("conversations.list") == []
    [complete] = slack.calls("files.completeUploadExternal")
    assert complete.form()["channel_id"] == FINANCE_ID


def test_filename_and_title_default_to_the_files_name(slack, report):
    post_to_slack(slack.settings(), FINANCE_ID, text="x", file=report, filename="sales.xlsx")

    [get_url] = slack.calls("files.getUploadURLExternal")
    assert get_url.form()["filename"] == "sales.xlsx"
    [complete] = slack.calls("files.completeUploadExternal")
    assert json.loads(complete.form()["files"])[0]["title"] == "sales.xlsx"


def test_an_unknown_channel_name_is_permanent(slack, report):
    with pytest.raises(PermanentDeliveryError, match="#nowhere not found"):
        post_to_slack(slack.settings(), "#nowhere", text="x", file=report)

    assert slack.calls("files.getUploadURLExternal") == []


def test_channel_not_found_is_permanent_and_named(slack):
    with pytest.raises(PermanentDeliveryError, match="chat.postMessage failed: channel_not_found"):
        post_to_slack(slack.settings(), "#nowhere", text="x")


def test_not_in_channel_is_permanent_with_a_hint(slack, report):
    slack.members_of = set()

    with pytest.raises(PermanentDeliveryError, match="not_in_channel.*invite the bot"):
        post_to_slack(slack.settings(), "#finance", text="x", file=report)


def test_503_is_transient_and_the_next_call_succeeds(slack):
    slack.server.respond("/api/chat.postMessage", 503, "upstream unavailable", times=1)

    with pytest.raises(TransientDeliveryError, match="HTTP 503"):
        post_to_slack(slack.settings(), "#finance", text="x")
    receipt = post_to_slack(slack.settings(), "#finance", text="x")

    assert receipt.details["ts"] == "1710136800.000100"


def test_rate_limiting_is_transient(slack):
    slack.server.respond(
        "/api/chat.postMessage",
        429,
        {"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "30"},
        times=1,
    )

    with pytest.raises(TransientDeliveryError, match="ratelimited.*retry after 30s"):
        post_to_slack(slack.settings(), "#finance", text="x")
    assert len(slack.calls("chat.postMessage")) == 1  # no hidden retry inside the client


def test_a_failing_upload_url_is_transient(slack, report):
    slack.server.respond("/upload/F0REPORT01", 503, "try later", times=1)

    with pytest.raises(TransientDeliveryError, match="upload answered 503"):
        post_to_slack(slack.settings(), FINANCE_ID, text="x", file=report)

    assert slack.calls("files.completeUploadExternal") == []


def test_a_slack_at_a_loopback_address_needs_its_host_allowed(slack):
    settings = SlackSettings(token=TOKEN, base_url=slack.server.url_for("/api/"), allow_http=True)

    with pytest.raises(PermanentDeliveryError, match="loopback.*allow_hosts: \\[127.0.0.1\\]"):
        post_to_slack(settings, "#finance", text="x")

    assert slack.server.requests == []


def test_a_plain_http_slack_needs_allow_http(slack):
    settings = SlackSettings(
        token=TOKEN, base_url=slack.server.url_for("/api/"), allow_hosts=("127.0.0.1",)
    )

    with pytest.raises(PermanentDeliveryError, match="must be an https URL"):
        check_slack(settings)


def test_an_upload_url_at_the_metadata_address_is_refused(slack, tmp_path):
    slack.server.respond(
        "/api/files.getUploadURLExternal",
        200,
        {"ok": True, "upload_url": "http://169.254.169.254/upload", "file_id": "F0REPORT01"},
        times=1,
    )
    report = tmp_path / "report.csv"
    report.write_text("a\n1\n")

    with pytest.raises(PermanentDeliveryError, match="Slack upload URL 169.254.169.254"):
        post_to_slack(slack.settings(), FINANCE_ID, text="x", file=report)

    assert slack.calls("files.completeUploadExternal") == []


def test_a_redirect_is_not_followed_and_the_token_stays_home(slack):
    slack.server.respond(
        "/api/chat.postMessage", 302, "", headers={"Location": "/elsewhere"}, times=1
    )

    with pytest.raises(PermanentDeliveryError) as caught:
        post_to_slack(slack.settings(), "#finance", text="x")

    assert "302" in str(caught.value)
    assert slack.server.requests_to("/elsewhere") == []


def test_a_slack_slower_than_the_timeout_is_transient(slack):
    slack.server.hold("/api/chat.postMessage")
    settings = SlackSettings(
        token=TOKEN, base_url=slack.server.url_for("/api/"), timeout=0.5, **LOCAL
    )

    with pytest.raises(TransientDeliveryError, match="cannot reach Slack.*timed out"):
        post_to_slack(settings, "#finance", text="x")


def test_an_unreachable_slack_is_transient():
    with RecordingHttpServer() as stopped:
        settings = SlackSettings(
            token=TOKEN, base_url=stopped.url_for("/api/"), timeout=5.0, **LOCAL
        )

    with pytest.raises(TransientDeliveryError, match="cannot reach Slack"):
        post_to_slack(settings, "#finance", text="x")


def test_a_wrong_token_is_permanent_and_never_shown(slack):
    wrong = "xoxb-9999-wrong-token"

    with pytest.raises(PermanentDeliveryError, match="invalid_auth") as caught:
        post_to_slack(slack.settings(token=wrong), "#finance", text="x")

    assert wrong not in str(caught.value)
    assert wrong not in repr(slack.settings(token=wrong))


def test_check_names_the_bot_and_the_workspace(slack):
    result = check_slack(slack.settings())

    assert "reports-bot" in result
    assert "Acme" in result


def test_check_with_a_wrong_token_is_permanent(slack):
    with pytest.raises(PermanentDeliveryError, match="auth.test failed: invalid_auth"):
        check_slack(slack.settings(token="xoxb-wrong"))
