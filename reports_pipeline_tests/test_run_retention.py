"""Run history retention on a real SQLite instance, with Dagster's own run deletion."""

from datetime import datetime, timedelta, timezone

import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, job, op
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.test_utils import create_run_for_test

from reports_pipeline.run_retention import OldRun, delete_runs, plan_run_deletions, runs_to_delete

S = DagsterRunStatus
LATER = timedelta(days=40)  # runs made now are 40 days old then


def make_runs(instance, job_name, *statuses) -> list[str]:
    # A queued run carries its code location, as the daemon's queue holds it.
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            RegisteredCodeLocationOrigin("reports_pipeline.definitions"), "__repository__"
        ),
        job_name,
    )
    return [
        create_run_for_test(
            instance,
            job_name=job_name,
            status=status,
            remote_job_origin=origin if status == S.QUEUED else None,
        ).run_id
        for status in statuses
    ]


def test_finished_runs_go_but_never_the_latest_nor_the_latest_success(sqlite_instance):
    a = make_runs(sqlite_instance, "sales", S.SUCCESS, S.FAILURE, S.SUCCESS)
    b = make_runs(sqlite_instance, "usage", S.SUCCESS, S.FAILURE)
    c = make_runs(sqlite_instance, "live", S.SUCCESS, S.STARTED)
    d = make_runs(sqlite_instance, "digest", S.CANCELED, S.QUEUED, S.SUCCESS)
    later = datetime.now(timezone.utc) + LATER
    planned = runs_to_delete(sqlite_instance, 30, later)
    assert [run.run_id for run in planned] == [a[0], a[1], d[0]]  # oldest first
    assert [run.status for run in planned] == ["SUCCESS", "FAILURE", "CANCELED"]
    delete_runs(sqlite_instance, planned)
    for run_id in (a[0], a[1], d[0]):
        assert sqlite_instance.get_run_by_id(run_id) is None
    for run_id in (a[2], *b, *c, d[1], d[2]):
        assert sqlite_instance.get_run_by_id(run_id) is not None


def test_runs_younger_than_the_limit_stay(sqlite_instance):
    make_runs(sqlite_instance, "sales", S.SUCCESS, S.FAILURE, S.SUCCESS)
    assert runs_to_delete(sqlite_instance, 30, datetime.now(timezone.utc)) == []
    assert runs_to_delete(sqlite_instance, 41, datetime.now(timezone.utc) + LATER) == []


def test_an_executed_runs_events_go_with_it(sqlite_instance):
    @op
    def one():
        return 1

    @job
    def tiny():
        one()

    first = tiny.execute_in_process(instance=sqlite_instance).run_id
    second = tiny.execute_in_process(instance=sqlite_instance).run_id
    assert sqlite_instance.all_logs(first)
    planned = runs_to_delete(sqlite_instance, 30, datetime.now(timezone.utc) + LATER)
    assert [(run.run_id, run.job_name) for run in planned] == [(first, "tiny")]
    delete_runs(sqlite_instance, planned)
    assert sqlite_instance.get_run_by_id(first) is None
    assert not sqlite_instance.all_logs(first)
    assert sqlite_instance.get_run_by_id(second) is not None


def aged_run(instance, job_name: str, ended: datetime, succeeded: bool = True) -> str:
    """A run that ended at ``ended``: its end recorded by Dagster's own run event."""
    run_id = create_run_for_test(instance, job_name=job_name, status=S.STARTED).run_id
    kind = DagsterEventType.RUN_SUCCESS if succeeded else DagsterEventType.RUN_FAILURE
    event = DagsterEvent(event_type_value=kind.value, job_name=job_name)
    instance.run_storage.handle_run_event(run_id, event, update_timestamp=ended)
    return run_id


def test_age_is_when_the_run_ended(sqlite_instance):
    now = datetime.now(timezone.utc)
    old = aged_run(sqlite_instance, "sales", now - timedelta(days=31), succeeded=False)
    recent = aged_run(sqlite_instance, "sales", now - timedelta(days=29), succeeded=False)
    aged_run(sqlite_instance, "sales", now - timedelta(days=1))
    planned = runs_to_delete(sqlite_instance, 30, now)
    assert [run.run_id for run in planned] == [old]
    assert planned[0].status == "FAILURE"
    assert abs(planned[0].finished_at - (now - timedelta(days=31))) < timedelta(seconds=1)
    assert recent not in {run.run_id for run in planned}


NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("status", "age_days", "protected", "goes"),
    [
        ("SUCCESS", 31, False, True),
        ("FAILURE", 31, False, True),
        ("CANCELED", 31, False, True),
        ("SUCCESS", 29, False, False),
        ("SUCCESS", 31, True, False),
        ("STARTED", 31, False, False),
        ("QUEUED", 31, False, False),
        ("CANCELING", 31, False, False),
        ("NOT_STARTED", 31, False, False),
    ],
)
def test_the_plan(status, age_days, protected, goes):
    run = OldRun("r1", "sales", status, NOW - timedelta(days=age_days))
    keep = {"r1"} if protected else set()
    assert plan_run_deletions([run], keep, NOW - timedelta(days=30)) == ([run] if goes else [])
