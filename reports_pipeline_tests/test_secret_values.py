"""What counts as a secret: declared credential fields, URL passwords, secret query parameters;
and such URLs refused in connections.yaml like a literal password."""

import typing

import pytest
from pydantic import BaseModel

from reports_pipeline.secret_values import (
    _declared_secret,
    connection_secrets,
    is_secret_name,
    url_secret_problem,
    url_secrets,
)
from reports_pipeline.spec.connections import CONNECTION_KINDS
from reports_pipeline.spec.loader import load_connections
from reports_pipeline.spec.values import EnvRef
from reports_pipeline_tests.report_files import write_connections


@pytest.mark.parametrize(
    "name",
    ["password", "sslpassword", "pass", "pwd", "token", "access_token", "api_key", "apikey",
     "key", "sig", "code", "X-Amz-Signature", "X-Amz-Credential", "client_secret"],
)  # fmt: skip
def test_credential_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["sslkey", "sslmode", "format", "authenticator", "keys", "user"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_url_secrets_are_the_password_and_secret_query_values_as_written_and_decoded():
    url = "https://reports:pa%2Fss@hooks.example.com/in?token=tok%2Fen&format=json&sig=s1g"
    assert url_secrets(url) == {"pa%2Fss", "pa/ss", "tok/en", "tok%2Fen", "s1g"}
    assert url_secrets("https://hooks.example.com/in?format=json") == set()
    assert url_secrets("not a url:99999999") == set()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u:pw@db/w", "the URL contains a password"),
        ("postgresql://u@db/w?sslmode=require&password=x", "secret (password=…)"),
        ("https://h/hook?api_key=x", "secret (api_key=…)"),
        ("https://h/hook?format=json", None),
        ("postgresql://u@db/w?sslkey=/etc/k.pem", None),
    ],
)
def test_url_secret_problem_names_the_part_never_the_value(url, problem):
    found = url_secret_problem(url)
    assert found == problem or (problem is not None and problem in found)


def parsed(kind: str, settings: dict):
    return CONNECTION_KINDS[kind].model_validate({"kind": kind, **settings})


def test_connection_secrets_resolve_declared_secret_fields_and_url_credentials(monkeypatch):
    monkeypatch.setenv("HOOK_URL", "https://h/hook?token=from-the-url")
    monkeypatch.setenv("HOOK_PASSWORD", "basic-password")
    monkeypatch.setenv("HOOK_SIGNING", "signing-secret")
    monkeypatch.setenv("HOOK_USER", "reports")
    basic = {"username": {"env": "HOOK_USER"}, "password": {"env": "HOOK_PASSWORD"}}
    hook = parsed(
        "webhook",
        {
            "url": {"env": "HOOK_URL"},
            "auth": {"basic": basic},
            "signing_secret": {"env": "HOOK_SIGNING"},
        },
    )
    # The user name is a setting, not a secret: it stays readable in messages.
    assert connection_secrets(hook) == {"from-the-url", "basic-password", "signing-secret"}


def test_every_kind_s_secret_fields_are_found(monkeypatch):
    monkeypatch.setenv("SECRET", "the-secret-value")
    secret = {"env": "SECRET"}
    connections = [
        parsed("smtp", {"host": "h", "password": secret, "from": "a@example.com"}),
        parsed("sendgrid", {"api_key": secret, "from": "a@example.com"}),
        parsed("sftp", {"host": "h", "username": "u", "private_key": secret, "host_key": "k"}),
        parsed("s3", {"bucket": "bucket", "secret_access_key": secret}),
        parsed("slack", {"token": secret}),
        parsed("webhook", {"url": "https://h/", "auth": {"bearer": secret}}),
        parsed("webhook", {"url": "https://h/", "auth": {"api_key": {"value": secret}}}),
        parsed("sql", {"url": {"env": "SECRET_URL"}}),
    ]
    monkeypatch.setenv("SECRET_URL", "postgresql://u:the-secret-value@db/w")
    assert [connection_secrets(c) for c in connections] == [{"the-secret-value"}] * 8


@pytest.mark.parametrize(
    ("kind", "settings", "variable"),
    [
        ("sql", {"url": "postgresql://reports@db/w?password=hunter2"}, "WAREHOUSE_URL"),
        ("sql", {"url": "snowflake://reports@acct/db?private_key_file_pwd=x"}, "WAREHOUSE_URL"),
        ("webhook", {"url": "https://hooks.example.com/in?token=abc"}, "WEBHOOK_URL"),
        ("webhook", {"url": "https://fn.example.net/api/in?code=abc"}, "WEBHOOK_URL"),
    ],
)
def test_a_secret_in_a_url_query_is_refused_in_connections_yaml(tmp_path, kind, settings, variable):
    path = write_connections(tmp_path, {"connections": {"target": {"kind": kind, **settings}}})
    _, errors = load_connections(path)
    (error,) = errors
    text = str(error)
    assert "connections.yaml:4: connections.target.url: the URL's query string has a secret" in text
    assert f"{{env: {variable}}}" in text
    assert "hunter2" not in text and "abc" not in text


@pytest.mark.parametrize(
    "connection, field",
    [
        (
            {
                "kind": "smtp",
                "host": "mail",
                "from": "a@b.co",
                "password": {"env": "P", "default": "hunter2"},
            },
            "password",
        ),
        ({"kind": "slack", "token": {"env": "T", "default": "xoxb-1-2"}}, "token"),
        (
            {"kind": "sendgrid", "api_key": {"env": "K", "default": "SG.x.y"}, "from": "a@b.co"},
            "api_key",
        ),
    ],
)
def test_a_secret_from_the_environment_has_no_default_written_in_yaml(tmp_path, connection, field):
    path = write_connections(tmp_path, {"connections": {"c": connection}})
    errors = load_connections(path)[1]
    assert [e.field for e in errors] == [f"connections.c.{field}.default"], errors
    assert "a secret has no default" in errors[0].message
    assert "hunter2" not in str(errors[0]) and "xoxb-1-2" not in str(errors[0])


def test_a_url_in_an_environment_variable_may_hold_its_secrets(tmp_path):
    path = write_connections(
        tmp_path, {"connections": {"hook": {"kind": "webhook", "url": {"env": "WEBHOOK_URL"}}}}
    )
    assert load_connections(path)[1] == []


def _fields(model: type[BaseModel], prefix: str = ""):
    """Every field of ``model`` and of the models nested in it (webhook auth), by path."""
    for name, info in model.model_fields.items():
        nested = [a for a in typing.get_args(info.annotation) or [info.annotation]]
        models = [a for a in nested if isinstance(a, type) and issubclass(a, BaseModel)]
        if models and not any(issubclass(m, EnvRef) for m in models):
            for inner in models:
                yield from _fields(inner, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info.annotation


@pytest.mark.parametrize("kind", sorted(CONNECTION_KINDS))
def test_a_field_named_like_a_credential_can_only_come_from_the_environment(kind):
    """Messages are scrubbed of declared secrets: a credential field typed ``str | EnvRef``
    would be neither refused in YAML nor scrubbed."""
    for path, annotation in _fields(CONNECTION_KINDS[kind]):
        if is_secret_name(path.rsplit(".", 1)[-1]):
            assert _declared_secret(annotation), f"{kind}.{path} should be typed Secret"
