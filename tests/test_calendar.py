"""arXiv's schedule: mailing dates, announcement instants, submission cycles, windows, holidays, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from digestlib.base import calendar
from digestlib.base.config import build_config, read_now
from digestlib.base.errors import UsageError

UTC = dt.timezone.utc
ET = ZoneInfo("America/New_York")
SH = ZoneInfo("Asia/Shanghai")
D = dt.date


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_mailing_dated_the_day_after_its_announcement():
    at = calendar.announcement_time(D(2026, 1, 22))
    assert at == dt.datetime(2026, 1, 21, 20, 0, tzinfo=ET)
    assert at.astimezone(UTC) == utc(2026, 1, 22, 1, 0)
    assert calendar.expected_at(D(2026, 1, 22)) == at
    assert calendar.announcement_time("2026-01-22") == at


@pytest.mark.parametrize("day", [D(2026, 1, 24), D(2026, 1, 25)])  # Sat, Sun
def test_weekend_has_no_mailing(day):
    assert not calendar.is_mailing_date(day)
    assert calendar.announcement_time(day) is None
    assert calendar.status_for(day, utc(2026, 2, 1)) == "none"
    assert calendar.why_no_mailing(day) == "weekend"
    with pytest.raises(UsageError, match="weekend"):
        calendar.submission_cycle(day)


def test_week_around_a_weekend():
    assert calendar.mailing_dates(D(2026, 1, 21), D(2026, 1, 28)) == [
        D(2026, 1, 21), D(2026, 1, 22), D(2026, 1, 23), D(2026, 1, 26), D(2026, 1, 27), D(2026, 1, 28)]
    # Monday's mailing is announced on Sunday evening and holds Thu 14:00 -> Fri 14:00 submissions.
    assert calendar.announcement_time(D(2026, 1, 26)) == dt.datetime(2026, 1, 25, 20, tzinfo=ET)
    assert calendar.submission_cycle(D(2026, 1, 26)) == (utc(2026, 1, 22, 19), utc(2026, 1, 23, 19))
    # Tuesday's absorbs the weekend: Fri 14:00 -> Mon 14:00.
    assert calendar.submission_cycle(D(2026, 1, 27)) == (utc(2026, 1, 23, 19), utc(2026, 1, 26, 19))
    assert calendar.submission_cycle(D(2026, 1, 22)) == (utc(2026, 1, 20, 19), utc(2026, 1, 21, 19))
    assert calendar.previous_mailing_date(D(2026, 1, 26)) == D(2026, 1, 23)
    assert calendar.previous_mailing_date(D(2026, 1, 25)) == D(2026, 1, 23)
    assert calendar.next_mailing_date(D(2026, 1, 23)) == D(2026, 1, 26)


def test_mlk_day_2026_skips_the_monday_evening_announcement():
    # arXiv lists Mon 2026-01-19 as a holiday. Its own listing "Monday, 19 January 2026" exists (announced
    # Sunday evening); the Monday-evening announcement is the one deferred: nothing is dated Tue 01-20.
    assert calendar.is_mailing_date(D(2026, 1, 19))
    assert calendar.announcement_time(D(2026, 1, 19)) == dt.datetime(2026, 1, 18, 20, tzinfo=ET)
    assert not calendar.is_mailing_date(D(2026, 1, 20))
    assert calendar.announcement_time(D(2026, 1, 20)) is None
    assert calendar.status_for(D(2026, 1, 20), utc(2026, 3, 1)) == "none"
    assert "holiday" in calendar.why_no_mailing(D(2026, 1, 20))
    assert calendar.mailing_dates(D(2026, 1, 16), D(2026, 1, 23)) == [
        D(2026, 1, 16), D(2026, 1, 19), D(2026, 1, 21), D(2026, 1, 22), D(2026, 1, 23)]
    # Wednesday's mailing absorbs Fri 14:00 -> Tue 14:00 EST (the Monday cutoff is skipped).
    assert calendar.previous_mailing_date(D(2026, 1, 21)) == D(2026, 1, 19)
    assert calendar.submission_cycle(D(2026, 1, 21)) == (utc(2026, 1, 16, 19), utc(2026, 1, 20, 19))
    assert calendar.submission_cycle(D(2026, 1, 19)) == (utc(2026, 1, 15, 19), utc(2026, 1, 16, 19))


@pytest.mark.parametrize(("mailing", "missing"), [
    (D(2025, 6, 19), D(2025, 6, 20)),  # "Thu 19 June" listed; the page still showed 19 June late that evening
    (D(2025, 7, 4), D(2025, 7, 7)),  # "Sun 6 July" listed; the page still showed 4 July late on Sunday
    (D(2025, 1, 20), D(2025, 1, 21)),  # MLK Day 2025: listing "Monday, 20 January 2025" exists
    (D(2026, 11, 26), D(2026, 11, 27)),  # Thanksgiving 2026: no mailing dated Friday
    (D(2026, 7, 3), D(2026, 7, 6)),  # Fri 2026-07-03 listed: the next (Sunday) announcement is deferred
])
def test_published_holidays(mailing, missing):
    assert calendar.is_mailing_date(mailing)
    assert not calendar.is_mailing_date(missing)


def test_holiday_cycle_after_a_friday_holiday():
    # Fri 2026-07-03 off -> no Sunday 07-05 announcement -> Tuesday 07-07 holds Thu 14:00 EDT .. Mon 14:00 EDT.
    assert calendar.previous_mailing_date(D(2026, 7, 7)) == D(2026, 7, 3)
    assert calendar.submission_cycle(D(2026, 7, 7)) == (utc(2026, 7, 2, 18), utc(2026, 7, 6, 18))


def test_cycles_tile_time_without_gaps():
    days = calendar.mailing_dates(D(2025, 1, 1), D(2026, 12, 31))
    assert 450 < len(days) < 520
    for previous, day in zip(days, days[1:]):
        start, end = calendar.submission_cycle(day)
        assert start == calendar.submission_cycle(previous)[1]
        assert start < end <= calendar.announcement_time(day)
        assert day.weekday() < 5


def test_dst_spring_forward_week():
    # US DST starts Sun 2026-03-08: Sunday's 20:00 announcement is already EDT (UTC-4).
    assert calendar.announcement_time(D(2026, 3, 9)).astimezone(UTC) == utc(2026, 3, 9, 0)
    assert calendar.announcement_time(D(2026, 3, 6)).astimezone(UTC) == utc(2026, 3, 6, 1)
    start, end = calendar.submission_cycle(D(2026, 3, 10))  # Fri 14:00 EST -> Mon 14:00 EDT
    assert (start, end) == (utc(2026, 3, 6, 19), utc(2026, 3, 9, 18))
    assert end - start == dt.timedelta(hours=71)
    window = calendar.window_for(D(2026, 3, 10))  # announced 2026-03-10 08:00 CST
    assert (window.start, window.end) == (dt.datetime(2026, 3, 9, 10, tzinfo=SH), dt.datetime(2026, 3, 10, 10, tzinfo=SH))


def test_dst_fall_back_week():
    # US DST ends Sun 2026-11-01.
    start, end = calendar.submission_cycle(D(2026, 11, 3))  # Fri 14:00 EDT -> Mon 14:00 EST
    assert (start, end) == (utc(2026, 10, 30, 18), utc(2026, 11, 2, 19))
    assert end - start == dt.timedelta(hours=73)
    assert calendar.announcement_time(D(2026, 11, 2)).astimezone(UTC) == utc(2026, 11, 2, 1)
    window = calendar.window_for(D(2026, 11, 2), "20:00", "America/New_York")
    assert window.start == dt.datetime(2026, 11, 1, 20, tzinfo=ET)
    assert window.end == dt.datetime(2026, 11, 2, 20, tzinfo=ET)
    assert window.tz_label == "EST"


def test_window_for_2026_01_22_in_beijing_time():
    window = calendar.window_for(D(2026, 1, 22), anchor="10:00", tz="Asia/Shanghai")
    assert window.start == dt.datetime(2026, 1, 21, 10, 0, tzinfo=SH)
    assert window.end == dt.datetime(2026, 1, 22, 10, 0, tzinfo=SH)
    assert window.start <= calendar.announcement_time(D(2026, 1, 22)) < window.end
    assert (window.anchor, window.tz_label, window.tz_name_zh) == ("10:00", "CST", "北京时间")


def test_window_contains_the_announcement_for_any_anchor():
    at = calendar.announcement_time(D(2026, 1, 22))  # 2026-01-22 09:00 CST
    w = calendar.window_for(D(2026, 1, 22), anchor="09:00")
    assert w.start == at and w.end == at + dt.timedelta(days=1)
    w = calendar.window_for(D(2026, 1, 22), anchor="09:01")
    assert w.start == dt.datetime(2026, 1, 21, 9, 1, tzinfo=SH)
    w = calendar.window_for(D(2026, 1, 22), anchor="10:00", tz="Europe/Berlin")
    assert w.start <= at < w.end and w.tz_label == "CET" and w.tz_name_zh == "Europe/Berlin"
    with pytest.raises(UsageError):
        calendar.window_for(D(2026, 1, 22), tz="Mars/Olympus")
    with pytest.raises(UsageError):
        calendar.window_for(D(2026, 1, 22), anchor="ten")


def test_window_for_a_day_without_mailing_uses_the_nominal_evening():
    w = calendar.window_for(D(2026, 1, 20))
    assert (w.start, w.end) == (dt.datetime(2026, 1, 19, 10, tzinfo=SH), dt.datetime(2026, 1, 20, 10, tzinfo=SH))


def test_status_not_yet_before_20_et():
    day = D(2026, 1, 22)
    assert calendar.status_for(day, dt.datetime(2026, 1, 21, 19, 59, tzinfo=ET)) == "not_yet"
    assert calendar.status_for(day, utc(2026, 1, 22, 0, 59, 59)) == "not_yet"
    assert calendar.status_for(day, utc(2026, 1, 22, 1, 0)) == "announced"
    assert calendar.status_for(day, dt.datetime(2026, 1, 22, 9, 0, tzinfo=SH)) == "announced"
    with pytest.raises(ValueError):
        calendar.status_for(day, dt.datetime(2026, 1, 22))


def test_latest_mailing_and_rss_time():
    assert calendar.latest_mailing_date(utc(2026, 1, 22, 1, 0)) == D(2026, 1, 22)
    assert calendar.latest_mailing_date(utc(2026, 1, 22, 0, 59)) == D(2026, 1, 21)
    assert calendar.latest_mailing_date(utc(2026, 1, 25, 12)) == D(2026, 1, 23)  # Sunday noon
    assert calendar.latest_mailing_date(utc(2026, 1, 20, 12)) == D(2026, 1, 19)  # the holiday's Tuesday
    # rss.arxiv.org is regenerated at midnight ET, four hours after the announcement.
    assert calendar.rss_available_at(D(2026, 1, 22)).astimezone(UTC) == utc(2026, 1, 22, 5)
    assert calendar.rss_available_at(D(2026, 7, 22)).astimezone(UTC) == utc(2026, 7, 22, 4)
    assert calendar.rss_available_at(D(2026, 1, 20)) is None


def test_now_honours_digest_now(monkeypatch):
    """The clock is read once, by config (``DIGEST_NOW`` fakes it), and passed to the calendar."""
    now = read_now
    assert now({"DIGEST_NOW": "2026-01-22T02:00:00Z"}) == utc(2026, 1, 22, 2)
    env = {"DIGEST_NOW": "2026-01-22T10:00:00+08:00"}
    assert now(env) == utc(2026, 1, 22, 2) and now(env).tzinfo == UTC
    env = {"DIGEST_NOW": "2026-01-22T02:00:00"}  # naive means UTC
    assert now(env) == utc(2026, 1, 22, 2)
    assert calendar.status_for(D(2026, 1, 22), now(env)) == "announced"
    assert calendar.status_for(D(2026, 1, 22), now({"DIGEST_NOW": "2026-01-21T23:00:00Z"})) == "not_yet"
    with pytest.raises(UsageError, match="DIGEST_NOW"):
        now({"DIGEST_NOW": "yesterday"})
    monkeypatch.setenv("DIGEST_NOW", "2026-01-22T02:00:00Z")  # no mapping given: the process environment
    assert now() == utc(2026, 1, 22, 2)
    assert build_config(date="2026-01-22", env={"DIGEST_NOW": "2026-01-22T02:00:00Z"}).now == utc(2026, 1, 22, 2)
    monkeypatch.delenv("DIGEST_NOW")
    assert abs(now() - dt.datetime.now(UTC)) < dt.timedelta(seconds=5)
    assert abs(now({}) - dt.datetime.now(UTC)) < dt.timedelta(seconds=5)
