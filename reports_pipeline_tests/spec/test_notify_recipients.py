"""``notify: {on, to}`` in a report file and ``policy.digest`` in connections.yaml: defaults,
and every mistake named by file, line and field."""

from pathlib import Path

from reports_pipeline.spec.loader import load_connections, load_project
from reports_pipeline_tests.report_files import report_dict, write_connections, write_report


def load(tmp_path: Path, notify, policy=None, **report):
    write_report(tmp_path / "reports", report_dict(notify=notify, **report), "test_report.yaml")
    connections = write_connections(tmp_path, {"policy": policy or {}})
    return load_project([tmp_path / "reports"], connections)


def errors(tmp_path: Path, notify, policy=None, **report) -> list[str]:
    project = load(tmp_path, notify, policy, **report)
    return [f"{Path(e.file).name}:{e.line}: {e.field}: {e.message}" for e in project.errors]


def test_by_default_the_owner_hears_of_failures_and_late_periods(tmp_path):
    (report,) = load(tmp_path, None).reports
    assert report.spec.notify.on == ["failure", "late"]
    assert report.spec.notice_recipients == ["owner@example.com"]


def test_notify_to_adds_people_after_the_owner_each_once(tmp_path):
    notify = {"on": ["success"], "to": ["a@example.com", "OWNER@example.com", "b@example.com"]}
    (report,) = load(tmp_path, notify).reports
    assert report.spec.notify.on == ["success"]
    assert report.spec.notice_recipients == ["owner@example.com", "a@example.com", "b@example.com"]


def test_a_single_address_and_a_single_kind_may_be_written_without_a_list(tmp_path):
    (report,) = load(tmp_path, {"on": "success", "to": "a@example.com"}).reports
    assert (report.spec.notify.on, report.spec.notice_recipients) == (
        ["success"],
        ["owner@example.com", "a@example.com"],
    )


def test_an_unknown_kind_of_notice_is_named_with_the_kinds_there_are(tmp_path):
    (error,) = errors(tmp_path, {"on": ["failure", "sucess"]})
    assert error.startswith("test_report.yaml:")
    assert ": notify.on[1]: " in error
    assert "'failure', 'success' or 'late'" in error


def test_an_address_that_is_not_one_is_named(tmp_path):
    (error,) = errors(tmp_path, {"to": ["boss@example.com", "not an address"]})
    assert ": notify.to[1]: " in error


def test_unknown_notify_fields_are_named(tmp_path):
    (error,) = errors(tmp_path, {"when": ["failure"]})
    assert ": notify.when: " in error and "on, to" in error


def test_notify_to_keeps_to_the_allowed_domains(tmp_path):
    policy = {"allowed_recipient_domains": ["example.com"]}
    (error,) = errors(tmp_path, {"to": ["boss@example.com", "friend@elsewhere.org"]}, policy)
    assert error.endswith(
        "notify.to[1]: friend@elsewhere.org: domain elsewhere.org is not allowed; allowed:"
        " example.com"
    )
    line = int(error.split(":")[1])
    text = (tmp_path / "reports" / "test_report.yaml").read_text().splitlines()
    assert "friend@elsewhere.org" in text[line - 1]


def test_notify_to_keeps_to_the_recipient_limit_owner_included(tmp_path):
    policy = {"max_recipients": 2}
    assert errors(tmp_path, {"to": ["a@example.com"]}, policy) == []
    (error,) = errors(tmp_path, {"to": ["a@example.com", "b@example.com"]}, policy)
    assert error.endswith(
        "notify.to: 3 people told with the owner; the policy allows at most 2 recipients"
    )


def test_the_digest_job_name_is_not_a_report_name(tmp_path):
    (error,) = errors(tmp_path, None, name="reports_digest")
    assert ": name: 'reports_digest' is the name of " in error and "another name" in error


def digest_errors(tmp_path: Path, digest) -> list[str]:
    path = write_connections(tmp_path, {"policy": {"timezone": "UTC", "digest": digest}})
    connections, problems = load_connections(path)
    return [f"{e.line}: {e.field}: {e.message}" for e in problems]


def test_the_digest_is_weekly_on_monday_at_eight_unless_the_policy_says_otherwise(tmp_path):
    connections, problems = load_connections(write_connections(tmp_path, {"policy": {}}))
    assert problems == []
    assert (connections.policy.digest.cron, connections.policy.digest.every) == (
        "0 8 * * 1",
        "week",
    )
    path = write_connections(tmp_path, {"policy": {"digest": {"on": "Friday", "at": "7:30"}}})
    assert load_connections(path)[0].policy.digest.cron == "30 7 * * 5"
    path = write_connections(tmp_path, {"policy": {"digest": {"on": "sunday"}}})
    assert load_connections(path)[0].policy.digest.cron == "0 8 * * 0"
    path = write_connections(tmp_path, {"policy": {"digest": False}})
    assert load_connections(path)[0].policy.digest is None


def test_digest_mistakes_are_named_by_line_and_field(tmp_path):
    (error,) = digest_errors(tmp_path, {"every": "month"})
    assert error.startswith("4: policy.digest.every: ") and "'week' or 'day'" in error
    (error,) = digest_errors(tmp_path, {"at": "25:00"})
    assert error.startswith("4: policy.digest.at: ") and 'write it as "HH:MM"' in error
    (error,) = digest_errors(tmp_path, {"every": "day", "on": "monday"})
    assert "on: is only used with every: week" in error
    (error,) = digest_errors(tmp_path, "weekly")
    assert "policy.digest" in error and "or false for no digest" in error
