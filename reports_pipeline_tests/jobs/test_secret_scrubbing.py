"""No secret, in any form, where a run writes: endpoints on 127.0.0.1 echo each request back
(headers, URL and body, in a 500, a 4xx, a 200 and a Slack error), and the secrets appear
nowhere in the run's events, the instance's files (compute logs included), the owner's
failure notice or `reports history`."""

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import pytest
from click.testing import CliRunner
from dagster import DagsterEventType
from dagster._serdes import serialize_value

from reports_pipeline.cli import cli
from reports_pipeline.definitions import build_definitions
from reports_pipeline.spec.connections import CONNECTION_KINDS
from reports_pipeline_tests.http_server import CannedResponse, RecordingHttpServer
from reports_pipeline_tests.report_files import (
    report_dict,
    smtp_connection,
    write_report,
    write_test_connections,
)
from reports_pipeline_tests.sensors.failure_sensor import evaluate_failure_sensor

HOOK_USER = "reports"
SECRETS = {
    "HOOK_PASSWORD": "b4sic Pw+/&=?%-e1d2",
    "HOOK_BEARER": "bearer-tok/en+9a8b7c",
    "HOOK_API_KEY": "api key=with&chars/3c4d",
    "HOOK_SIGNING": "signing-secret-5f6a7b",
    "URL_TOKEN": "url tok/en+5e6f7a",
    "SLACK_TOKEN": "xoxb-echo-1234-abcd5678",
    "SENDGRID_KEY": "SG.echo-key.0123456789abcdef",
}
SLACK_CHANNEL = "C0ECHO0001"


def echo(request) -> str:
    """The request as an echoing server writes it back: request line, headers, body."""
    query = f"?{urlencode(request.query, doseq=True)}" if request.query else ""
    line = f"{request.method} {request.path}{query} HTTP/1.1"
    return f"{line}\n{request.headers}\n{request.body.decode('utf-8', 'replace')}"


def forms(secret: str) -> set[str]:
    """How a request can carry ``secret``: raw, URL-encoded, JSON-escaped, base64 (alone and
    in a Basic header), and any 8 characters of that base64 that encode the secret alone."""
    encoded = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    }
    for text in (secret, f"{HOOK_USER}:{secret}", f"\0{HOOK_USER}\0{secret}"):
        b64 = base64.b64encode(text.encode()).decode()
        prefix = len(text) - len(secret)
        start = -(-prefix * 4 // 3) + 2  # past the characters that also encode the prefix
        encoded |= {b64[i : i + 8] for i in range(start, len(b64) - 10)}
    return encoded


def leaks(text: str) -> list[tuple[str, str]]:
    return [
        (name, form) for name, secret in SECRETS.items() for form in forms(secret) if form in text
    ]


@pytest.fixture
def echo_server():
    def answer(status: int):
        return lambda request: CannedResponse(status, echo(request))

    def slack_error(request):
        # Slack-like: an error code that quotes the credential, then the whole request.
        quoted = f"invalid_auth: {request.headers.get('Authorization')} {echo(request)}"
        return CannedResponse(200, {"ok": False, "error": quoted})

    with RecordingHttpServer() as server:
        server.handle("/hook/basic-500", answer(500))
        server.handle("/hook/bearer-422", answer(422))
        server.handle("/hook/api-key-200", answer(200))
        server.handle("/hook/basic-200", answer(200))
        for method in ("files.getUploadURLExternal", "chat.postMessage", "conversations.list"):
            server.handle(f"/api/{method}", slack_error)
        server.handle("/v3/mail/send", answer(500))
        server.handle("/v3/scopes", answer(401))
        yield server
    assert not server.handler_errors


@pytest.fixture
def secrets_in_environment(monkeypatch, echo_server):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    token = f"?token={quote(SECRETS['URL_TOKEN'], safe='')}&format=json"
    for path in ("basic-500", "bearer-422", "api-key-200", "basic-200"):
        variable = f"HOOK_URL_{path.upper().replace('-', '_')}"
        monkeypatch.setenv(variable, echo_server.url_for(f"/hook/{path}") + token)


def local(connection: dict) -> dict:
    """``connection`` allowed to reach the servers on 127.0.0.1, if its kind restricts that."""
    fields = CONNECTION_KINDS[connection["kind"]].model_fields
    allowed = {"allow_http": True, "allow_hosts": ["127.0.0.1"]}
    return {**connection, **{key: value for key, value in allowed.items() if key in fields}}


def webhook(path: str, auth: dict) -> dict:
    variable = f"HOOK_URL_{path.upper().replace('-', '_')}"
    return local(
        {
            "kind": "webhook",
            "url": {"env": variable},
            "auth": auth,
            "signing_secret": {"env": "HOOK_SIGNING"},
        }
    )


def echoing_project(tmp_path: Path, server, smtp_server) -> Path:
    basic = {"basic": {"username": HOOK_USER, "password": {"env": "HOOK_PASSWORD"}}}
    connections = write_test_connections(
        tmp_path,
        {
            "hook_basic_500": webhook("basic-500", basic),
            "hook_bearer_422": webhook("bearer-422", {"bearer": {"env": "HOOK_BEARER"}}),
            "hook_api_key_200": webhook(
                "api-key-200",
                {"api_key": {"header": "X-Api-Key", "value": {"env": "HOOK_API_KEY"}}},
            ),
            "hook_basic_200": webhook("basic-200", basic),
            "team_slack": local(
                {
                    "kind": "slack",
                    "token": {"env": "SLACK_TOKEN"},
                    "base_url": server.url_for("/api/"),
                }
            ),
            "sendgrid_mail": local(
                {
                    "kind": "sendgrid",
                    "api_key": {"env": "SENDGRID_KEY"},
                    "from": "reports@example.com",
                    "base_url": server.url,
                }
            ),
            "notices": smtp_connection(smtp_server),
        },
        policy={"notify": {"connection": "notices"}},
    )
    write_report(
        tmp_path / "reports",
        report_dict(
            name="echoed",
            source={"connection": "warehouse", "sql": "select 1 as one"},
            schedule={"every": "day", "timezone": "UTC", "start": "2026-01-01"},
            deliver=[
                {"webhook": {"connection": "hook_basic_500"}},
                {"webhook": {"connection": "hook_bearer_422"}},
                {"webhook": {"connection": "hook_api_key_200"}},
                {"webhook": {"connection": "hook_basic_200"}},
                {"slack": {"connection": "team_slack", "channel": SLACK_CHANNEL}},
                {"email": {"connection": "sendgrid_mail", "to": ["cfo@example.com"]}},
            ],
            retry={"attempts": 2, "delay": "0.1s"},
        ),
    )
    return connections


def run_and_notify(tmp_path, instance, echo_server, smtp_server):
    connections = echoing_project(tmp_path, echo_server, smtp_server)
    defs = build_definitions([tmp_path / "reports"], connections)
    result = defs.resolve_job_def("echoed").execute_in_process(
        partition_key="2026-11-02", instance=instance, raise_on_error=False
    )
    evaluate_failure_sensor(defs, instance, result.run_id)
    return result


def test_echoed_secrets_appear_nowhere_a_run_writes(
    tmp_path, sqlite_instance, echo_server, smtp_server, secrets_in_environment
):
    result = run_and_notify(tmp_path, sqlite_instance, echo_server, smtp_server)

    # Every endpoint did receive the secrets, and echoed them back.
    hooks = [r for r in echo_server.requests if r.path.startswith("/hook/")]
    assert {r.query["token"][0] for r in hooks} == {SECRETS["URL_TOKEN"]}
    assert any(r.headers["Authorization"].startswith("Basic ") for r in hooks)
    assert echo_server.requests_to("/v3/mail/send")
    assert echo_server.requests_to("/api/files.getUploadURLExternal")

    failed = {
        e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE
    }
    assert failed == {
        "deliver_1_webhook",
        "deliver_2_webhook",
        "deliver_5_slack",
        "deliver_6_email",
    }

    events = "\n".join(serialize_value(r) for r in sqlite_instance.all_logs(result.run_id))
    assert leaks(events) == []
    # What was kept still says what happened, with the credentials masked.
    assert "answered 500 Internal Server Error: POST /hook/basic-500?token=***" in events
    assert "Authorization: ***" in events

    home = Path(sqlite_instance.root_directory)
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any("compute_logs" in p.parts for p in files)  # captured, and searched below
    for path in files:
        assert leaks(path.read_bytes().decode("latin-1")) == [], path

    (notice,) = smtp_server.wait_for_messages(1)
    text = notice.parsed().get_body(preferencelist=("plain",)).get_content()
    assert "deliver_1_webhook: webhook http://127.0.0.1:" in text
    assert leaks(notice.content.decode("latin-1")) == []

    history = CliRunner().invoke(
        cli, ["history", "echoed"], env={"DAGSTER_HOME": str(home)}, catch_exceptions=False
    )
    assert history.exit_code == 0, history.output
    assert "deliver_3_webhook" in history.output and "answered 500" in history.output
    assert leaks(history.output) == []


def test_test_connection_shows_the_answer_without_the_key(
    tmp_path, echo_server, smtp_server, secrets_in_environment
):
    connections = echoing_project(tmp_path, echo_server, smtp_server)
    result = CliRunner().invoke(
        cli, ["test-connection", "sendgrid_mail", "--connections", str(connections)]
    )
    assert result.exit_code == 1
    assert "SendGrid key check answered 401 Unauthorized: GET /v3/scopes" in result.output
    assert "Authorization: ***" in result.output
    assert leaks(result.output) == []


def test_the_notice_scrubs_an_error_a_step_stored_unscrubbed(
    tmp_path, sqlite_instance, echo_server, smtp_server, secrets_in_environment
):
    """Runs stored before scrubbing, or a step that quotes a secret in its own error: the
    notice is scrubbed with the deployment's secrets all the same."""
    from dagster import job, op

    from reports_pipeline.jobs.report_job import REPORT_TAG

    connections = echoing_project(tmp_path, echo_server, smtp_server)
    defs = build_definitions([tmp_path / "reports"], connections)

    @op
    def fetch_and_render():
        basic = base64.b64encode(f"x:{SECRETS['HOOK_BEARER']}".encode()).decode()
        raise RuntimeError(f"could not connect with {basic} {SECRETS['SLACK_TOKEN']}")

    @job(name="echoed", tags={REPORT_TAG: "echoed"})
    def echoed():
        fetch_and_render()

    result = echoed.execute_in_process(instance=sqlite_instance, raise_on_error=False)
    assert leaks(serialize_value(list(sqlite_instance.all_logs(result.run_id)))) != []
    evaluate_failure_sensor(defs, sqlite_instance, result.run_id)

    (notice,) = smtp_server.wait_for_messages(1)
    text = notice.parsed().get_body(preferencelist=("plain",)).get_content()
    assert "fetch_and_render: could not connect with *** ***" in text
    assert leaks(notice.content.decode("latin-1")) == []
