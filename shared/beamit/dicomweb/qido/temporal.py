"""DICOM DA, TM and DT values (PS3.5 Table 6.2-1) as Python dates and times, for matching.

Query values are parsed strictly (a malformed one is a 400); stored values leniently (a
value that still cannot be read simply does not match a range).  A value of reduced precision
stands for an interval: ``TM 10`` is 10:00:00.000000 to 10:59:59.999999, ``DT 2020`` the
whole year.  Each parser returns that interval as (first instant, last instant); a range
query uses the first instant of its lower bound and the last instant of its upper bound
(PS3.4 C.2.2.2.5: bounds are inclusive), and a stored value is compared by its first
instant.

Time zones: a DT value with a ``&ZZXX`` offset is converted to UTC; a DT without one is taken
as UTC.  DA and TM values are compared as recorded, in the study's local time; BeamIt applies
no Timezone Offset From UTC (0008,0201) to them.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

__all__ = [
    "TemporalError",
    "parse_da",
    "parse_dt",
    "parse_tm",
    "stored_da",
    "stored_dt",
    "stored_tm",
]


class TemporalError(ValueError):
    """A DA/TM/DT value that is not well formed; the message says what is wrong, not the value."""


_DA = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TM = re.compile(r"(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?")
_DT = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,6}))?)?)?)?)?)?"
    r"([+-]\d{4})?"
)


def parse_da(text: str) -> date:
    """A DA value ``YYYYMMDD`` as a date; :class:`TemporalError` if malformed or impossible."""
    match = _DA.fullmatch(text)
    if match is None:
        raise TemporalError("expected a date as YYYYMMDD (8 digits)")
    year, month, day = (int(group) for group in match.groups())
    return _date(year, month, day)


def _date(year: int, month: int, day: int) -> date:
    if year < 1:
        raise TemporalError("the year must be 0001 or later")
    if not 1 <= month <= 12:
        raise TemporalError("the month must be 01 to 12")
    try:
        return date(year, month, day)
    except ValueError:
        raise TemporalError("the day does not exist in that month") from None


def parse_tm(text: str) -> tuple[time, time]:
    """A TM value ``HH[MM[SS[.F{1,6}]]]`` as (first, last) instant of the time it denotes."""
    match = _TM.fullmatch(text)
    if match is None:
        raise TemporalError("expected a time as HH, HHMM, HHMMSS or HHMMSS.FFFFFF")
    hh, mm, ss, frac = match.groups()
    return _time(hh, mm, ss, frac)


def _time(hh: str, mm: str | None, ss: str | None, frac: str | None) -> tuple[time, time]:
    hour = int(hh)
    if hour > 23:
        raise TemporalError("the hour must be 00 to 23")
    if mm is None:
        return time(hour), time(hour, 59, 59, 999999)
    minute = int(mm)
    if minute > 59:
        raise TemporalError("the minutes must be 00 to 59")
    if ss is None:
        return time(hour, minute), time(hour, minute, 59, 999999)
    second = int(ss)
    if second > 60:
        raise TemporalError("the seconds must be 00 to 60")
    if second == 60:  # a leap second: the last representable instant of that minute
        return time(hour, minute, 59, 999999), time(hour, minute, 59, 999999)
    if frac is None:
        return time(hour, minute, second), time(hour, minute, second, 999999)
    low = int(frac.ljust(6, "0"))
    high = int(frac.ljust(6, "9"))
    return time(hour, minute, second, low), time(hour, minute, second, high)


def parse_dt(text: str) -> tuple[datetime, datetime]:
    """A DT value ``YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`` as (first, last) instant in UTC.

    Offsets must lie in -1200..+1400 with minutes 00..59.  Without an offset the value is
    taken as UTC.
    """
    match = _DT.fullmatch(text)
    if match is None:
        raise TemporalError(
            "expected a date-time as YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]] with an optional +HHMM or -HHMM offset"
        )
    year_s, month_s, day_s, hh, mm, ss, frac, offset_s = match.groups()
    year = int(year_s)
    offset = _offset(offset_s)
    if month_s is None:
        first_day = _date(year, 1, 1)
        last_day = _date(year, 12, 31)
    elif day_s is None:
        first_day = _date(year, int(month_s), 1)
        last_day = _last_day_of_month(first_day)
    else:
        first_day = last_day = _date(year, int(month_s), int(day_s))
    if hh is None:
        first_time, last_time = time(0), time(23, 59, 59, 999999)
    else:
        first_time, last_time = _time(hh, mm, ss, frac)
    try:
        first = datetime.combine(first_day, first_time) - offset
        last = datetime.combine(last_day, last_time) - offset
    except OverflowError:
        raise TemporalError("the date-time is out of range once its offset is applied") from None
    return first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)


def _last_day_of_month(first: date) -> date:
    if first.month == 12:
        return date(first.year, 12, 31)
    return date(first.year, first.month + 1, 1) - timedelta(days=1)


def _offset(text: str | None) -> timedelta:
    if text is None:
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[3:5])
    if minutes > 59:
        raise TemporalError("the UTC offset minutes must be 00 to 59")
    total = sign * timedelta(hours=hours, minutes=minutes)
    if not timedelta(hours=-12) <= total <= timedelta(hours=14):
        raise TemporalError("the UTC offset must lie between -1200 and +1400")
    return total


# --- stored values (lenient) ----------------------------------------------------------------


def stored_da(value: object) -> date | None:
    """A stored DA value, also in the ACR-NEMA form ``YYYY.MM.DD``; ``None`` if unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 10 and text[4] == "." and text[7] == ".":
        text = text.replace(".", "")
    try:
        return parse_da(text)
    except TemporalError:
        return None


def stored_tm(value: object) -> time | None:
    """A stored TM value (first instant), also ``HH:MM:SS``; ``None`` if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return parse_tm(value.strip().replace(":", ""))[0]
    except TemporalError:
        return None


def stored_dt(value: object) -> datetime | None:
    """A stored DT value (first instant, UTC); ``None`` if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return parse_dt(value.strip())[0]
    except TemporalError:
        return None
