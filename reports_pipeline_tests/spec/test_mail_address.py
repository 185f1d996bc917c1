"""Intranet mail domains (``corp.local``) in every place a report or connection names an address."""

import re
from pathlib import Path

import email_validator
import pytest

from reports_pipeline.spec.loader import load_project
from reports_pipeline.spec.mail_address import address_context, check_address, special_use_suffix
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report

FIX = "add corp.local to policy.allowed_recipient_domains in connections.yaml"
POLICY = {"allowed_recipient_domains": ["corp.local"]}


# The address check


def test_an_address_in_a_listed_special_use_domain_is_accepted_and_normalized():
    assert check_address("ops@corp.local", ["corp.local"]) == "ops@corp.local"
    assert check_address("Ops <ops@Corp.LOCAL>", ["corp.local"]) == "ops@corp.local"
    assert check_address("ops@localhost", ["localhost"]) == "ops@localhost"


def test_a_listed_parent_domain_covers_its_subdomains():
    assert check_address("ops@mail.corp.local", ["corp.local"]) == "ops@mail.corp.local"
    with pytest.raises(ValueError, match="add other.local to"):
        check_address("ops@other.local", ["corp.local"])


def test_an_unlisted_special_use_domain_is_refused_with_the_fix():
    with pytest.raises(ValueError) as refused:
        check_address("ops@corp.local", ["example.com"])

    assert "corp.local is a special-use domain" in str(refused.value)
    assert str(refused.value).endswith(FIX)


def test_the_fix_warns_that_a_first_entry_limits_every_recipient():
    with pytest.raises(ValueError, match="a list that is not empty allows only its domains"):
        check_address("ops@corp.local", [])


def test_a_listed_domain_does_not_excuse_a_bad_local_part():
    with pytest.raises(ValueError, match="invalid characters before the @-sign"):
        check_address("o ps@corp.local", ["corp.local"])
    with pytest.raises(ValueError, match="two periods in a row"):
        check_address("ops@mail..corp.local", ["corp.local"])


def test_ordinary_addresses_are_checked_as_before():
    assert check_address("Ann <Ann@Example.com>") == "Ann@example.com"
    with pytest.raises(ValueError, match="must have an @-sign"):
        check_address("not-an-address", ["corp.local"])


def test_email_validator_itself_still_refuses_special_use_domains():
    check_address("ops@corp.local", ["corp.local"])

    assert special_use_suffix("corp.local") == "local"
    with pytest.raises(email_validator.EmailSyntaxError, match="special-use"):
        email_validator.validate_email("ops@corp.local", check_deliverability=False)


def test_the_context_takes_the_policy_list_as_written():
    assert address_context([" Corp.Local ", "@example.com", 3]) == {
        "allowed_recipient_domains": ["corp.local", "example.com"]
    }
    assert address_context(None) == {"allowed_recipient_domains": []}


# Every place a report file names an address, through the loader


def _errors(tmp_path: Path, report: dict, policy: dict | None, **connections) -> list[str]:
    write_report(tmp_path / "reports", report, "test_report.yaml")
    sections: dict = {"connections": connections}
    if policy is not None:
        sections["policy"] = policy
    path = write_connections(tmp_path, sections)
    return [str(error) for error in load_project([tmp_path / "reports"], path).errors]


def _target(**addresses) -> list[dict]:
    return [{"email": {"to": ["ops@corp.local"], **addresses}}]


PLACES = {
    "deliver[0].email.to[0]": report_dict(deliver=_target()),
    "deliver[0].email.cc[0]": report_dict(
        deliver=[{"email": {"to": ["a@corp.local"], "cc": ["ops@corp.local"]}}]
    ),
    "deliver[0].email.bcc[0]": report_dict(
        deliver=[{"email": {"bcc": ["ops@corp.local"], "to": ["a@corp.local"]}}]
    ),
    "notify.to[0]": report_dict(
        deliver=_target(), notify={"to": ["ops@corp.local"]}, owner="owner@corp.local"
    ),
    "owner": report_dict(deliver=_target(), owner="ops@corp.local"),
}


@pytest.mark.parametrize("field", PLACES)
def test_a_report_address_in_a_listed_intranet_domain_is_accepted(tmp_path, field):
    assert _errors(tmp_path, PLACES[field], POLICY) == []


@pytest.mark.parametrize("field", PLACES)
def test_a_report_address_in_an_unlisted_intranet_domain_names_the_fix(tmp_path, field):
    errors = _errors(tmp_path, PLACES[field], {"allowed_recipient_domains": ["example.com"]})

    mine = [error for error in errors if f": {field}: " in error]
    assert len(mine) == 1, errors
    assert re.search(rf"test_report\.yaml:\d+: {re.escape(field)}: ", mine[0]), mine[0]
    assert mine[0].endswith(FIX), mine[0]


def test_a_report_file_without_a_policy_names_the_fix_for_its_address(tmp_path):
    errors = _errors(tmp_path, report_dict(owner="ops@corp.local"), None)

    (error,) = errors
    assert "test_report.yaml:2: owner: value is not a valid email address:" in error
    assert FIX in error


MAIL_CONNECTIONS = {
    "smtp": {"kind": "smtp", "host": "127.0.0.1", "from": "reports@corp.local"},
    "sendgrid": {
        "kind": "sendgrid",
        "api_key": {"env": "SENDGRID_KEY"},
        "from": "reports@corp.local",
    },
    "outbox": {"kind": "outbox", "path": "outbox", "from": "reports@corp.local"},
}


@pytest.mark.parametrize("kind", MAIL_CONNECTIONS)
def test_a_connection_from_address_in_a_listed_intranet_domain_is_accepted(tmp_path, kind):
    errors = _errors(
        tmp_path,
        report_dict(deliver=_target(connection="office")),
        POLICY,
        office=MAIL_CONNECTIONS[kind],
    )

    assert errors == []


@pytest.mark.parametrize("kind", MAIL_CONNECTIONS)
def test_a_connection_from_address_in_an_unlisted_intranet_domain_names_the_fix(tmp_path, kind):
    errors = _errors(tmp_path, report_dict(), {}, office=MAIL_CONNECTIONS[kind])

    (error,) = [error for error in errors if "connections.office.from" in error]
    assert re.search(r"connections\.yaml:\d+: connections\.office\.from: ", error), error
    assert FIX in error


def test_a_connection_from_address_must_be_an_address(tmp_path):
    smtp = {**MAIL_CONNECTIONS["smtp"], "from": "reports at corp"}

    errors = _errors(tmp_path, report_dict(), POLICY, office=smtp)

    assert any(
        "connections.office.from: value is not a valid email address" in error for error in errors
    )
