"""Public holiday calendars (the ``holidays`` package), by country and optional subdivision.

The package is imported on first use: it is loaded only by reports that name a calendar, not by
every run worker and every validation (README, "Scale").
"""

from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import holidays


def _split(calendar: str) -> tuple[str, str | None]:
    country, _, subdivision = calendar.partition("-")
    return country.upper(), (subdivision.upper() or None)


def check_holiday_calendar(calendar: str) -> str:
    """``US``, ``DE``, ``GB`` or with a subdivision ``US-NY``, ``DE-BY``; else a clear error."""
    import holidays

    country, subdivision = _split(calendar)
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(
            f"unknown holiday calendar '{calendar}'; use a country code the holidays package"
            " knows, such as US, DE, GB, FR or JP"
        )
    if subdivision and subdivision not in supported[country]:
        raise ValueError(
            f"'{subdivision}' is not a subdivision of {country}; known: "
            f"{', '.join(supported[country][:12])}{', ...' if len(supported[country]) > 12 else ''}"
        )
    return f"{country}-{subdivision}" if subdivision else country


@lru_cache(maxsize=64)
def _calendar(calendar: str) -> "holidays.HolidayBase":
    import holidays

    country, subdivision = _split(calendar)
    # Years are filled in on first look-up of a date, so one object serves every year.
    return holidays.country_holidays(country, subdiv=subdivision)


def holiday_name(calendar: str, day: date) -> str | None:
    """The holiday's name on ``day`` in ``calendar``, or None on an ordinary day."""
    return _calendar(calendar).get(day)
