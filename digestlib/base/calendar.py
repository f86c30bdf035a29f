"""arXiv's announcement calendar: mailing date <-> announcement instant <-> submission cycle. No I/O.

The schedule (https://info.arxiv.org/help/availability.html, all times US Eastern):

* Submissions are cut off at **14:00** on weekdays; what arrived since the previous cutoff is announced
  ("mailed") at **20:00** the same evening, Sunday to Thursday. Friday-14:00 ... Monday-14:00 submissions
  are announced on Monday evening; Thursday-14:00 ... Friday-14:00 on Sunday evening.
* A mailing is *dated* the day after its announcement evening: that is the date arXiv's own listing
  ("Showing new listings for Thursday, 22 January 2026") and the RSS feed's ``published`` carry.
  Announced Wed 2026-01-21 20:00 EST -> mailing dated Thu 2026-01-22. Mailing dates are Mon-Fri.

Holidays. arXiv publishes, per year, the days on which a mailing is deferred ("On Deferred Mailings").
We encode the published 2025 and 2026 lists in :data:`PUBLISHED_HOLIDAYS` and read each entry as
**a day without the evening announcement** -- not as a day without a mailing *dated* that day. The
evidence, from arXiv's listing pages as captured by public daily-digest repositories:

* 2025 listed "Thu 19 June": at Thu 2025-06-19 23:13 EDT the listing page still showed
  "new listings for Thursday, 19 June 2025", so the mailing dated Thursday 19 June existed and the
  Thursday-evening announcement (the one that would be dated Fri 20 June) did not happen.
* 2025 listed "Sun 6 July" -- a Sunday, which can only name an announcement evening: at Sun 2025-07-06
  23:21 EDT the page still showed "Friday, 4 July 2025"; no mailing was dated Mon 7 July.
* Mon 2025-01-20 and Mon 2026-01-19 (Martin Luther King Jr. Day, both listed) each have a listing
  headed "new listings for Monday, 20 January 2025" / "... Monday, 19 January 2026". A mailing dated
  2026-01-19 therefore exists (announced Sun 2026-01-18 20:00 EST); it is the Monday-evening
  announcement that is skipped, so **no mailing is dated Tue 2026-01-20**, and the mailing dated Wed
  2026-01-21 absorbs everything submitted from Fri 2026-01-16 14:00 to Tue 2026-01-20 14:00 EST.

The 2026 list also names Fridays (06-19, 07-03, 12-25), on whose evenings there is never an
announcement. We read a listed day as "the staff's day off" and skip the first announcement evening
on or after it: a Mon-Thu or Sunday entry skips its own evening, a Friday (or Saturday) entry skips
the following Sunday evening -- exactly what happened after Fri 2025-07-04 (listed as "Sun 6 July").
That is our reading, not arXiv's words: for an unexpected deferral arXiv posts on
https://status.arxiv.org, and :func:`status_for` callers should treat a missing mailing on an
expected date as "not yet" rather than trust this table blindly. December 2025 holidays were "not yet
scheduled" in the version of the page we could read; we encode only Tue 2025-12-30, observed: arXiv's
feeds were empty on Wed 2025-12-31 (the physics feed, never empty on a mailing day, had no items).

RSS timing. The listing pages switch at the 20:00 announcement, but rss.arxiv.org regenerates its feeds
"daily at midnight Eastern" (feed ``updated`` 04:00Z in summer, 05:00Z in winter), about four hours
later; :func:`rss_available_at` gives that instant. Between the two only the listing pages and (with
some lag) the API know the new mailing.

Owns: the schedule above, as pure functions of dates and instants. Must not: do I/O or read a clock;
"now" is always passed in (the run's clock is ``Config.now``, read once by ``environment.read_now``, which is
where ``DIGEST_NOW`` fakes it).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError
from .models import Window

ET = ZoneInfo("America/New_York")
UTC = dt.timezone.utc
CUTOFF = dt.time(14, 0)  # submission deadline, ET
ANNOUNCE = dt.time(20, 0)  # announcement ("mailing"), ET

# As published by arXiv ("On Deferred Mailings" / "20xx Holidays"), verbatim dates.
PUBLISHED_HOLIDAYS: dict[int, tuple[dt.date, ...]] = {
    2025: (
        dt.date(2025, 1, 1),  # Wed, New Year's Day
        dt.date(2025, 1, 20),  # Mon, Martin Luther King Jr. Day
        dt.date(2025, 6, 19),  # Thu, Juneteenth
        dt.date(2025, 7, 6),  # Sun (after Independence Day, Fri 4 July)
        dt.date(2025, 9, 1),  # Mon, Labor Day
        dt.date(2025, 11, 27),  # Thu, Thanksgiving
    ),
    2026: (
        dt.date(2026, 1, 1),  # Thu, New Year's Day
        dt.date(2026, 1, 19),  # Mon, Martin Luther King Jr. Day
        dt.date(2026, 6, 19),  # Fri, Juneteenth
        dt.date(2026, 7, 3),  # Fri, Independence Day observed
        dt.date(2026, 9, 7),  # Mon, Labor Day
        dt.date(2026, 11, 26),  # Thu, Thanksgiving
        dt.date(2026, 12, 25),  # Fri, Christmas
        dt.date(2026, 12, 29),  # Tue
        dt.date(2026, 12, 31),  # Thu
    ),
}

# Evenings without announcement that we observed but found no published list for.
OBSERVED_SKIPPED_EVENINGS: tuple[dt.date, ...] = (
    dt.date(2025, 12, 30),  # Tue: the feeds dated Wed 2025-12-31 were empty
)

_ANNOUNCE_WEEKDAYS = {6, 0, 1, 2, 3}  # Sun, Mon, Tue, Wed, Thu (date.weekday(): Mon=0 ... Sun=6)
_ZH_NAMES = {"Asia/Shanghai": "北京时间", "Asia/Chongqing": "北京时间", "Asia/Harbin": "北京时间", "PRC": "北京时间"}

Status = Literal["announced", "not_yet", "none"]


def _skipped_evening(holiday: dt.date) -> dt.date:
    """The first announcement evening (Sun-Thu) on or after a published holiday."""
    day = holiday
    while day.weekday() not in _ANNOUNCE_WEEKDAYS:
        day += dt.timedelta(days=1)
    return day


SKIPPED_EVENINGS: frozenset[dt.date] = frozenset(
    [_skipped_evening(d) for days in PUBLISHED_HOLIDAYS.values() for d in days] + list(OBSERVED_SKIPPED_EVENINGS)
)
"""ET dates on whose evening no announcement is made (derived from :data:`PUBLISHED_HOLIDAYS`)."""


def _as_date(d: dt.date | str) -> dt.date:
    if isinstance(d, dt.datetime):
        return d.date()
    if isinstance(d, dt.date):
        return d
    try:
        return dt.date.fromisoformat(str(d))
    except ValueError:
        raise UsageError(f"invalid date {d!r}: expected YYYY-MM-DD") from None


def _announce_evening(mailing_date: dt.date) -> dt.date:
    return mailing_date - dt.timedelta(days=1)


def is_mailing_date(d: dt.date | str) -> bool:
    """True when arXiv dates a mailing ``d`` (a Mon-Fri whose previous evening is not skipped)."""
    d = _as_date(d)
    evening = _announce_evening(d)
    return evening.weekday() in _ANNOUNCE_WEEKDAYS and evening not in SKIPPED_EVENINGS


def announcement_time(mailing_date: dt.date | str) -> dt.datetime | None:
    """When the mailing dated ``mailing_date`` is announced (tz-aware, ET), or None if there is none."""
    d = _as_date(mailing_date)
    if not is_mailing_date(d):
        return None
    return dt.datetime.combine(_announce_evening(d), ANNOUNCE, tzinfo=ET)


def rss_available_at(mailing_date: dt.date | str) -> dt.datetime | None:
    """When rss.arxiv.org is expected to carry the mailing: midnight ET starting the mailing date."""
    d = _as_date(mailing_date)
    if not is_mailing_date(d):
        return None
    return dt.datetime.combine(d, dt.time(0, 0), tzinfo=ET)


def expected_at(mailing_date: dt.date | str) -> dt.datetime | None:
    """Same as :func:`announcement_time`; the name reads better in "expected at ..." messages."""
    return announcement_time(mailing_date)


def mailing_dates(start: dt.date | str, end: dt.date | str) -> list[dt.date]:
    """Every mailing date in ``[start, end]`` (both inclusive), ascending."""
    start, end = _as_date(start), _as_date(end)
    out = []
    day = start
    while day <= end:
        if is_mailing_date(day):
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def previous_mailing_date(d: dt.date | str) -> dt.date:
    """The latest mailing date strictly before ``d``."""
    day = _as_date(d) - dt.timedelta(days=1)
    for _ in range(60):
        if is_mailing_date(day):
            return day
        day -= dt.timedelta(days=1)
    raise UsageError(f"no arXiv mailing found in the 60 days before {d}")  # pragma: no cover


def next_mailing_date(d: dt.date | str) -> dt.date:
    """The earliest mailing date strictly after ``d``."""
    day = _as_date(d) + dt.timedelta(days=1)
    for _ in range(60):
        if is_mailing_date(day):
            return day
        day += dt.timedelta(days=1)
    raise UsageError(f"no arXiv mailing found in the 60 days after {d}")  # pragma: no cover


def latest_mailing_date(at: dt.datetime) -> dt.date:
    """The mailing most recently announced at or before the instant ``at`` (tz-aware)."""
    if at.tzinfo is None:
        raise ValueError("latest_mailing_date needs a tz-aware datetime")
    day = at.astimezone(ET).date() + dt.timedelta(days=1)
    for _ in range(60):
        t = announcement_time(day)
        if t is not None and t <= at:
            return day
        day -= dt.timedelta(days=1)
    raise UsageError(f"no arXiv mailing found in the 60 days before {at.isoformat()}")  # pragma: no cover


def _cutoff(mailing_date: dt.date) -> dt.datetime:
    """The submission deadline closing the mailing dated ``mailing_date`` (ET).

    A Sunday-evening announcement closes at the preceding Friday's 14:00; any other evening at its own.
    """
    evening = _announce_evening(mailing_date)
    if evening.weekday() == 6:  # Sunday
        evening -= dt.timedelta(days=2)
    return dt.datetime.combine(evening, CUTOFF, tzinfo=ET)


def submission_cycle(mailing_date: dt.date | str) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC of the submissions announced in the mailing dated ``mailing_date``.

    From the previous mailing's cutoff to this one's; weekends and skipped evenings are absorbed
    (e.g. the mailing of Wed 2026-01-21 covers Fri 2026-01-16 19:00Z to Tue 2026-01-20 19:00Z).
    Moderation holds and late cross-lists are not modelled: they are announced when released.
    """
    d = _as_date(mailing_date)
    if not is_mailing_date(d):
        raise UsageError(f"no arXiv mailing is dated {d.isoformat()} ({_why_none(d)})")
    start = _cutoff(previous_mailing_date(d))
    return start.astimezone(UTC), _cutoff(d).astimezone(UTC)


def _why_none(d: dt.date) -> str:
    evening = _announce_evening(d)
    if d.weekday() >= 5:
        return "weekend"
    if evening in SKIPPED_EVENINGS:
        return f"arXiv holiday: no announcement on the evening of {evening.isoformat()}"
    return "no announcement the evening before"  # pragma: no cover


def why_no_mailing(d: dt.date | str) -> str | None:
    """A short English reason why no mailing is dated ``d`` ("weekend", "arXiv holiday ..."), else None."""
    d = _as_date(d)
    return None if is_mailing_date(d) else _why_none(d)


def status_for(mailing_date: dt.date | str, now: dt.datetime) -> Status:
    """"none" (no mailing that day), "not_yet" (before its announcement, on the clock ``now``, tz-aware)
    or "announced"."""
    at = announcement_time(mailing_date)
    if at is None:
        return "none"
    current = now
    if current.tzinfo is None:
        raise ValueError("status_for needs a tz-aware datetime")
    return "announced" if current >= at else "not_yet"


def _parse_anchor(anchor: str) -> dt.time:
    try:
        hours, minutes = anchor.split(":")
        return dt.time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise UsageError(f"window anchor must be HH:MM, got {anchor!r}") from None


def window_for(mailing_date: dt.date | str, anchor: str = "10:00", tz: str = "Asia/Shanghai") -> Window:
    """The 24 h window ``[anchor, next anchor)`` in ``tz`` that contains the announcement instant.

    With anchor 10:00 Asia/Shanghai, the mailing dated 2026-01-22 (announced 2026-01-22 09:00 CST)
    lies in 2026-01-21 10:00 -- 2026-01-22 10:00 CST. For a date without a mailing the nominal
    instant (the previous evening, 20:00 ET) is used, so a "no announcement" post still gets a window.
    """
    d = _as_date(mailing_date)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {tz!r}") from None
    at_time = _parse_anchor(anchor)
    instant = announcement_time(d) or dt.datetime.combine(_announce_evening(d), ANNOUNCE, tzinfo=ET)
    local = instant.astimezone(zone)
    start = dt.datetime.combine(local.date(), at_time, tzinfo=zone)
    if start > local:
        start = dt.datetime.combine(local.date() - dt.timedelta(days=1), at_time, tzinfo=zone)
    end = dt.datetime.combine(start.date() + dt.timedelta(days=1), at_time, tzinfo=zone)
    return Window(
        start=start,
        end=end,
        anchor=anchor,
        tz_label=end.tzname() or tz,
        tz_name_zh=_ZH_NAMES.get(tz, tz),
    )
