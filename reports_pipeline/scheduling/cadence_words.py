"""A report's cadence in words, for the schedule's description and the job page.

"every weekday at 09:00 (America/New_York), skipping US holidays", "every 2 minutes": what an
analyst wrote, read back, so that the UI never says just "every cron". Built for every report
at load, so it only formats (no I/O); a cron the words below do not cover is quoted as written.
"""

from reports_pipeline.scheduling.cadence import QUARTER_MONTHS
from reports_pipeline.spec.report import MONTH_NAMES, WEEKDAYS, Schedule

_DAY_NAMES = tuple(day.capitalize() for day in WEEKDAYS)
_WORKDAYS = [1, 2, 3, 4, 5]  # cron numbers, Sunday is 0


def cadence_words(schedule: Schedule, timezone: str) -> str:
    """When a report runs, in words, with its time zone and the days it skips."""
    every = schedule.every
    if every == "cron":
        return _with_skips(_cron_words(str(schedule.cron), timezone), schedule)
    if every == "once":
        run_at = schedule.run_at
        return f"once, on {run_at:%Y-%m-%d} at {run_at:%H:%M} ({timezone})"
    at = f"{schedule.clock:%H:%M}"
    if every == "hour":
        words = f"every hour at :{schedule.clock:%M}"
    elif every == "day":
        days = "every weekday" if "weekends" in schedule.skip else "every day"
        return _with_skips(f"{days} at {at} ({timezone})", schedule, weekends_said=True)
    elif every == "week":
        words = f"every {str(schedule.on).capitalize()} at {at}"
    else:
        months = (
            "every month"
            if every == "month"
            else _and(MONTH_NAMES[int(m) - 1] for m in QUARTER_MONTHS.split(","))
        )
        day = _day_of_month(schedule.on)
        if isinstance(schedule.on, int) and schedule.on > 28:
            day += " (or the last day, in shorter months)"
        words = f"on {day} of {months} at {at}"
    return _with_skips(f"{words} ({timezone})", schedule)


def _with_skips(words: str, schedule: Schedule, weekends_said: bool = False) -> str:
    skipped = []
    if "weekends" in schedule.skip and not weekends_said:
        skipped.append("weekends")
    if "holidays" in schedule.skip:
        skipped.append(f"{schedule.holiday_calendar} holidays")
    return f"{words}, skipping {_and(skipped)}" if skipped else words


def _day_of_month(on) -> str:
    return "the last day" if on == "last" else f"the {_ordinal(int(on))}"


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _and(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _step(values: list, size: int) -> int | None:
    """The n of ``*/n``: values 0, n, 2n… covering the field; None for any other set."""
    if values == ["*"]:
        return 1
    if len(values) < 2 or values[0] != 0:
        return None
    step = values[1] - values[0]
    return step if values == list(range(0, size, step)) else None


def _cron_words(expression: str, timezone: str) -> str:
    # Reads the cron's fields through Dagster's private shim, as spec.report does to check
    # crons: names (MON-FRI), ranges and steps come out as plain numbers.
    from dagster._utils.schedules import CroniterShim

    quoted = f'on the cron schedule "{expression}" ({timezone})'
    try:
        (minutes, hours, days, months, weekdays), nth_weekdays = CroniterShim.expand(expression)
    except Exception:  # the spec has checked it; a cron croniter cannot read stays quoted
        return quoted
    if nth_weekdays or "l" in weekdays or (days != ["*"] and weekdays != ["*"]):
        return quoted  # "the first Monday", "the last Friday", day OR weekday: say it as written
    minute_step, hour_step = _step(minutes, 60), _step(hours, 24)
    first, last = _span(hours)
    if hours == ["*"] and minute_step:
        times = "every minute" if minute_step == 1 else f"every {minute_step} minutes"
    elif minute_step and first is not None:
        every_n = "every minute" if minute_step == 1 else f"every {minute_step} minutes"
        times = f"{every_n} from {first:02d}:00 to {last:02d}:{60 - minute_step:02d}"
    elif len(minutes) == 1 and minutes != ["*"] and first is not None and last - first >= 2:
        (minute,) = minutes
        times = f"every hour from {first:02d}:{minute:02d} to {last:02d}:{minute:02d}"
    elif minutes != ["*"] and hours != ["*"] and not hour_step:
        if len(minutes) * len(hours) > 6:
            return quoted  # a long list of times reads worse than the cron
        clock = _and(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
        return f"{_cron_days(days, months, weekdays)} at {clock} ({timezone})"
    elif minutes != ["*"] and hour_step:
        hourly = "every hour" if hour_step == 1 else f"every {hour_step} hours"
        times = f"{hourly} at {_and(f':{m:02d}' for m in minutes)}"
    else:
        return quoted
    on_days = _cron_days(days, months, weekdays, after_times=True)
    if not on_days and minute_step and hours == ["*"]:
        return times  # every n minutes all day is the same in every zone
    return f"{times}{' ' + on_days if on_days else ''} ({timezone})"


def _span(hours: list) -> tuple[int | None, int | None]:
    """First and last hour of a range of hours (9-17), else (None, None)."""
    if "*" in hours or hours != list(range(hours[0], hours[-1] + 1)):
        return None, None
    return hours[0], hours[-1]


def _cron_days(days: list, months: list, weekdays: list, after_times: bool = False) -> str:
    """The days of a cron in words: "every weekday", or after times "on weekdays" ("" daily)."""
    named_months = _and(MONTH_NAMES[m - 1] for m in months) if months != ["*"] else ""
    in_months = f" in {named_months}" if named_months else ""
    if weekdays != ["*"]:
        ordered = sorted(weekdays, key=lambda d: (d - 1) % 7)  # Monday first
        if ordered == _WORKDAYS:
            return f"{'on weekdays' if after_times else 'every weekday'}{in_months}"
        names = [_DAY_NAMES[(d - 1) % 7] for d in ordered]
        if after_times:
            return f"on {_and(f'{name}s' for name in names)}{in_months}"
        return f"every {_and(names)}{in_months}"
    if days != ["*"]:
        dates = _and("the last day" if d == "l" else f"the {_ordinal(d)}" for d in days)
        return f"on {dates} of {named_months or 'every month'}"
    if after_times:
        return in_months.strip()
    return f"every day{in_months}"
