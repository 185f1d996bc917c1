"""A report's cadence read back in words: what the schedule's description and job page say."""

import pytest

from reports_pipeline.scheduling.cadence_words import cadence_words
from reports_pipeline.spec.report import Schedule


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (
            {"every": "day", "at": "09:00", "skip": ["weekends", "holidays"]}
            | {"holiday_calendar": "US"},
            "every weekday at 09:00 (America/New_York), skipping US holidays",
        ),
        ({"every": "day", "at": "07:00"}, "every day at 07:00 (America/New_York)"),
        ({"every": "hour", "at": "00:15"}, "every hour at :15 (America/New_York)"),
        (
            {"every": "week", "on": "monday", "at": "08:30", "skip": ["holidays"]}
            | {"holiday_calendar": "DE-BY"},
            "every Monday at 08:30 (America/New_York), skipping DE-BY holidays",
        ),
        (
            {"every": "hour", "skip": ["weekends"]},
            "every hour at :00 (America/New_York), skipping weekends",
        ),
        (
            {"every": "month", "at": "06:00"},
            "on the 1st of every month at 06:00 (America/New_York)",
        ),
        (
            {"every": "month", "on": "last", "at": "18:00"},
            "on the last day of every month at 18:00 (America/New_York)",
        ),
        (
            {"every": "month", "on": 31, "at": "06:00"},
            "on the 31st (or the last day, in shorter months) of every month at 06:00"
            " (America/New_York)",
        ),
        (
            {"every": "quarter", "on": 2, "at": "06:00"},
            "on the 2nd of January, April, July and October at 06:00 (America/New_York)",
        ),
        (
            {"every": "once", "run_at": "2026-12-01T08:00"},
            "once, on 2026-12-01 at 08:00 (America/New_York)",
        ),
    ],
)
def test_cadences_read_as_words_with_the_zone_and_skipped_days(schedule, words):
    assert cadence_words(Schedule(**schedule), "America/New_York") == words


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("*/2 * * * *", "every 2 minutes"),  # the same in every zone: no zone to say
        ("* * * * *", "every minute"),
        ("0 9 * * 1-5", "every weekday at 09:00 (Europe/Berlin)"),
        ("0 9 * * MON-FRI", "every weekday at 09:00 (Europe/Berlin)"),
        ("0 9 * * 6,0", "every Saturday and Sunday at 09:00 (Europe/Berlin)"),
        ("0 9 * * 7", "every Sunday at 09:00 (Europe/Berlin)"),
        ("0 9,17 * * *", "every day at 09:00 and 17:00 (Europe/Berlin)"),
        ("30 6 L * *", "on the last day of every month at 06:30 (Europe/Berlin)"),
        ("0 6 1,15 * *", "on the 1st and the 15th of every month at 06:00 (Europe/Berlin)"),
        ("0 6 1 1,7 *", "on the 1st of January and July at 06:00 (Europe/Berlin)"),
        ("0 9 * 12 *", "every day in December at 09:00 (Europe/Berlin)"),
        ("0 */3 * * *", "every 3 hours at :00 (Europe/Berlin)"),
        ("15 * * * *", "every hour at :15 (Europe/Berlin)"),
        ("5 9-17 * * *", "every hour from 09:05 to 17:05 (Europe/Berlin)"),
        (
            "*/10 9-17 * * 1-5",
            "every 10 minutes from 09:00 to 17:50 on weekdays (Europe/Berlin)",
        ),
        ("*/15 * * * 1,3", "every 15 minutes on Mondays and Wednesdays (Europe/Berlin)"),
        ("*/5 * * 12 *", "every 5 minutes in December (Europe/Berlin)"),
    ],
)
def test_common_crons_read_as_words(cron, words):
    assert cadence_words(Schedule(every="cron", cron=cron), "Europe/Berlin") == words


@pytest.mark.parametrize("cron", ["0 9 * * 1#1", "0 0 1-7 * 1", "7,8 1,2,3,4 * * *"])
def test_crons_without_plain_words_are_quoted_as_written_never_just_every_cron(cron):
    words = cadence_words(Schedule(every="cron", cron=cron), "UTC")
    assert words == f'on the cron schedule "{cron}" (UTC)'


def test_skipped_days_follow_a_cron_in_words():
    schedule = Schedule(every="cron", cron="0 9 * * *", skip=["holidays"], holiday_calendar="GB")
    assert cadence_words(schedule, "Europe/London") == (
        "every day at 09:00 (Europe/London), skipping GB holidays"
    )
