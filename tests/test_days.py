"""Issue 3, "the right papers, exactly once": which papers each day's post carries, across days.

The integration tests run the real ``digest`` command (papermill, the notebook, the exporters) as a separate
process against the loopback fake arXiv (``tests/fakes/fake_arxiv.py``), offline for the LLM (no endpoint
configured: abstracts stay in English, labelled), with ``DIGEST_NOW`` pinning the clock; where only the
selection matters, ``pipeline.run_day`` is called in process (the notebook's one call), which is much faster.

Covered elsewhere, not repeated here: the 2026-01-22 day with its 25 new and cross-listed papers
(``tests/test_end_to_end.py``); an empty or malformed API answer on a weekday and the 3 s politeness
(``tests/test_arxiv_source.py``: ``test_fake_empty_answer_on_a_weekday``, ``test_fake_malformed_xml``,
``test_fake_real_three_second_delay``, ``test_rate_limiter_spaces_requests_across_threads``).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from digestlib.base import calendar
from digestlib.base.config import build_config
from digestlib.base.models import AnnounceType, DayDigest, Paper
from digestlib.day.pipeline import DayResult
from tests.day_run import run_day_digest
from digestlib.day.selection import select_papers, stored_selection
from tests.postparse import ParsedPost, parse_post
from digestlib.store.store import Store
from tests.fakes.fake_arxiv import SHARED_MAILING, FakeArxivProcess, prepare_mailing, start_fake_arxiv, synthesize_week

integration = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
UTC = dt.timezone.utc
AFTER_22 = "2026-01-22T06:00:00+00:00"  # the mailing dated 01-22 announced (Wed 20:00 EST), RSS regenerated
AFTER_23 = "2026-01-23T06:00:00+00:00"  # the same for the mailing dated Fri 01-23: the latest of the week
NEW_TYPES = ("new", "cross")


# ------------------------------------------------------------------------------------------ helpers


def _base(shared_data: Path) -> dict:
    path = shared_data / SHARED_MAILING
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text(encoding="utf-8"))


def _small(mailing: dict, new: int, cross: int, replaced: int) -> dict:
    """The mailing cut to its first ``new`` new, ``cross`` cross-listed and ``replaced`` replaced papers."""
    quota = {"new": new, "cross": cross, "replace": replaced, "replace-cross": 0}
    papers = []
    for paper in mailing["papers"]:
        if quota[paper["announce_type"]] > 0:
            quota[paper["announce_type"]] -= 1
            papers.append(paper)
    return {**mailing, "papers": papers}


def _new_ids(mailing: dict) -> set[str]:
    return {p["id"] for p in mailing["papers"] if p["announce_type"] in NEW_TYPES}


def _params(folder: Path, *extra: str) -> Path:
    path = folder / "params.yaml"
    path.write_text(
        "categories: [cs.SD, eess.AS]\n"
        f"glossary_file: {ROOT / 'parameters' / 'glossary.yaml'}\n"
        "arxiv: {api_delay_seconds: 0.02, page_size: 10}\n"  # small pages: the searches page
        "fulltext: {requests_per_second: 100}\n" + "".join(f"{line}\n" for line in extra),
        encoding="utf-8",
    )
    return path


@dataclass
class Digest:
    """``digest`` as a user runs it, pointed at a fake arXiv, no LLM endpoint, the clock at ``now``."""

    arxiv: FakeArxivProcess
    params: Path
    out: Path
    now: str

    def __call__(self, *args: str, out: Path | None = None) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
        env.update(self.arxiv.env(), DIGEST_NOW=self.now)
        offline = ["--offline"] if args and args[0] in ("run", "backfill", "daily") else []  # no LLM endpoint
        cmd = [DIGEST, *args, "--params", str(self.params), "--out", str(out or self.out), "--quiet", *offline]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, (f"digest {' '.join(args)} -> {done.returncode}\n"
                                      f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done

    def run(self, date: str, *args: str, out: Path | None = None) -> subprocess.CompletedProcess:
        return self("run", "--date", date, *args, out=out)


def _run_in_process(monkeypatch: pytest.MonkeyPatch, fake: FakeArxivProcess, now: str, date: str, out: Path,
                    **params) -> tuple[DayResult, DayDigest]:
    """``pipeline.run_day`` as the notebook calls it, without papermill, and the digest it shows: the fast
    way to look at a selection."""
    for name in [k for k in os.environ if k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DIGEST_NOW", now)
    params = {"arxiv": {"api_delay_seconds": 0.02}, "fulltext": {"requests_per_second": 100}, **params}
    return run_day_digest(build_config(date=date, out_dir=out, env={**fake.env(), "DIGEST_NOW": now}, params=params))


def _post_path(out: Path, date: str) -> Path:
    return out / date / f"{date}-arxiv-daily.md"


def _post(out: Path, date: str) -> ParsedPost:
    return parse_post(_post_path(out, date).read_text(encoding="utf-8"))


def _shown(post: ParsedPost) -> list[str]:
    return [p.arxiv_id for p in post.papers]


# ---------------------------------------------------------------------------- a week, shuffled


@integration
def test_a_week_across_a_weekend_and_a_holiday_in_shuffled_order(shared_data: Path, tmp_path: Path) -> None:
    """Thu 01-15 .. Fri 01-23: Sat/Sun and the MLK holiday's skipped Monday-evening announcement (no
    mailing dated Tue 01-20; the mailing dated Mon 01-19 exists; Wed 01-21 absorbs Fri 14:00 .. Tue 14:00).
    Past days go through the API's submission-date search, the latest (01-23) through the RSS feed."""
    week = synthesize_week(_base(shared_data), "2026-01-15", "2026-01-23")
    by_date = {m["mailing_date"]: m for m in week}
    assert list(by_date) == ["2026-01-15", "2026-01-16", "2026-01-19", "2026-01-21", "2026-01-22", "2026-01-23"]
    assert calendar.submission_cycle(dt.date(2026, 1, 21)) == (
        dt.datetime(2026, 1, 16, 19, tzinfo=UTC), dt.datetime(2026, 1, 20, 19, tzinfo=UTC))

    # Two papers announced later than their submission cycle (held in moderation), the case the ledger
    # exists for: `late` is on the RSS feed of 01-23 but was submitted on the holiday Monday, inside the
    # cycle of 01-21, so the API search of 01-21 finds it too; `early` is in the mailing of 01-22, submitted
    # in the cycle of 01-19, where the API search (the only route for a past day) finds it instead.
    late = next(p for p in by_date["2026-01-23"]["papers"] if p["announce_type"] == "new")
    late["published"] = late["updated"] = "2026-01-19T17:00:00+00:00"
    early = next(p for p in by_date["2026-01-22"]["papers"] if p["announce_type"] == "cross")
    early["published"] = early["updated"] = "2026-01-16T12:00:00+00:00"

    announced = {date: _new_ids(m) for date, m in by_date.items()}
    everything = set().union(*announced.values())
    assert len(everything) == 6 * 25

    with start_fake_arxiv(week, now=AFTER_23, html_factory="tests.fakes.fake_arxiv:sample_html",
                          workdir=tmp_path / "fake") as fake:
        digest = Digest(fake, _params(tmp_path), tmp_path / "out", AFTER_23)
        # A shuffled order (later days before earlier ones); the backfill step runs its days oldest first.
        quiet_days = []
        for step in (["run", "2026-01-22"], ["run", "2026-01-18"], ["run", "2026-01-23"], ["run", "2026-01-20"],
                     ["backfill", "2026-01-15", "2026-01-21"], ["run", "2026-01-17"]):
            if step[0] == "run":
                done = digest.run(step[1])
                if not calendar.is_mailing_date(step[1]):
                    quiet_days.append(step[1])
                    assert f"No arXiv announcement is dated {step[1]}" in done.stdout
                    assert "no post written" in done.stdout
            else:
                done = digest("backfill", "--from", step[1], "--to", step[2])
                assert f"Backfilling 4 announcement day(s) from {step[1]} to {step[2]}." in done.stdout
                assert done.stdout.count("Wrote ") == 4
        assert quiet_days == ["2026-01-18", "2026-01-20", "2026-01-17"]

        out = digest.out
        written = sorted(p.parent.name for p in out.glob("*/*-arxiv-daily.md"))
        assert written == sorted(by_date)  # no post for Sat 01-17, Sun 01-18, Tue 01-20
        for day in quiet_days:
            assert not (out / day).exists()

        posts = {date: _post(out, date) for date in by_date}
        counts = collections.Counter(i for post in posts.values() for i in _shown(post))
        assert [i for i, n in counts.items() if n > 1] == []  # no paper twice
        assert set(counts) == everything  # none lost
        for date, post in posts.items():
            assert _shown(post) == sorted(_shown(post), reverse=True)

        # Where the two held papers went: the first day to see a paper owns it.
        assert late["id"] in _shown(posts["2026-01-23"])  # 01-23 ran before 01-21 ...
        assert late["id"] not in _shown(posts["2026-01-21"])  # ... whose API search also found it
        assert (posts["2026-01-21"].fetched_count, posts["2026-01-21"].shown_count) == (26, 25)
        assert early["id"] in _shown(posts["2026-01-19"]) and early["id"] not in _shown(posts["2026-01-22"])
        for date in ("2026-01-15", "2026-01-16", "2026-01-21"):
            assert set(_shown(posts[date])) == announced[date] - {late["id"]}
        assert set(_shown(posts["2026-01-22"])) == announced["2026-01-22"] - {early["id"]}
        assert set(_shown(posts["2026-01-19"])) == announced["2026-01-19"] | {early["id"]}
        assert posts["2026-01-23"].updates == ()  # replacements are listed only with include_replacements

        with Store(out / "digest.sqlite") as store:
            sources = {date: store.announcement_source(dt.date.fromisoformat(date)) for date in by_date}
            ledger = store.ledger()
        assert sources == {**{date: "api" for date in by_date}, "2026-01-23": "rss"}
        assert ledger == {i: dt.date.fromisoformat(date) for date, post in posts.items() for i in _shown(post)}

        # Running a day again (here the one whose search saw a paper another post owns) gives the same post.
        before = _post_path(out, "2026-01-21").read_bytes()
        digest.run("2026-01-21")
        assert _post_path(out, "2026-01-21").read_bytes() == before


# ------------------------------------------------------------------------ a replaced paper


@integration
def test_a_replacement_of_a_posted_paper_is_an_update_not_new(shared_data: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Day 1 (01-22) announces X and Y (cross-listed) as new; day 2 (01-23) announces their v2 as
    replace / replace-cross. Day 2's post must not show them as new; with ``include_replacements`` they
    are listed in its ``## 更新`` section, with the other replacements of the day. Run the other way
    round (day 2 first, day 1 backfilled later), the API sees X and Y as new on day 1 in their current v2."""
    day1 = prepare_mailing(_small(_base(shared_data), new=6, cross=2, replaced=2))
    day2 = prepare_mailing(synthesize_week(day1, "2026-01-23", "2026-01-23")[0])
    x = next(p for p in day1["papers"] if p["announce_type"] == "new")
    y = next(p for p in day1["papers"] if p["announce_type"] == "cross")
    cycle_start, _ = calendar.submission_cycle(dt.date(2026, 1, 23))
    for paper, kind in ((x, "replace"), (y, "replace-cross")):
        day2["papers"].append({**paper, "version": 2, "announce_type": kind,  # first version's date kept
                               "updated": (cycle_start + dt.timedelta(hours=3)).isoformat()})
    assert x["published"] < cycle_start.isoformat()

    with start_fake_arxiv([day1, day2], now=AFTER_22, html_factory="tests.fakes.fake_arxiv:sample_html",
                          workdir=tmp_path / "fake") as fake:
        digest = Digest(fake, _params(tmp_path, "include_replacements: true"), tmp_path / "out", AFTER_22)
        digest.run("2026-01-22")
        fake.set_now(AFTER_23)
        digest.now = AFTER_23
        digest.run("2026-01-23")
        reverse = tmp_path / "reverse"
        _, later = _run_in_process(monkeypatch, fake, AFTER_23, "2026-01-23", reverse, include_replacements=True)
        _, backfilled = _run_in_process(monkeypatch, fake, AFTER_23, "2026-01-22", reverse, include_replacements=True)

    first, second = _post(digest.out, "2026-01-22"), _post(digest.out, "2026-01-23")
    assert set(_shown(first)) == _new_ids(day1) and {x["id"], y["id"]} <= set(_shown(first))
    assert [p.version for p in first.papers] == [1] * len(first.papers)
    assert set(_shown(second)) == _new_ids(day2)  # X and Y are not new on day 2
    assert not {x["id"], y["id"]} & set(_shown(second))
    updates = {u.arxiv_id: u.version for u in second.updates}
    replaced = {p["id"]: p["version"] for p in day2["papers"] if p["announce_type"] not in NEW_TYPES}
    assert updates == replaced and updates[x["id"]] == updates[y["id"]] == 2
    assert "## 更新" in _post_path(digest.out, "2026-01-23").read_text(encoding="utf-8")
    with Store(digest.out / "digest.sqlite") as store:
        assert store.ledger()[x["id"]] == store.ledger()[y["id"]] == dt.date(2026, 1, 22)

    def versions(entries) -> dict[str, int]:
        return {e.paper.arxiv_id: e.paper.version for e in entries}

    assert versions(later.entries) == {i: 1 for i in _new_ids(day2)}
    assert versions(later.updates) == replaced
    assert versions(backfilled.entries) == {**{i: 1 for i in _new_ids(day1)}, x["id"]: 2, y["id"]: 2}
    assert backfilled.updates == ()  # the API route cannot see replacements


# ------------------------------------------------------------------------------ snapshot/replay


@integration
def test_a_replayed_snapshot_gives_the_same_post_as_the_live_run(shared_data: Path, tmp_path: Path) -> None:
    """``digest snapshot`` records the day (feed, API pages, PDFs); with the fake arXiv stopped,
    ``digest run --replay`` in another output folder writes the live run's post byte for byte."""
    pytest.importorskip("fpdf")
    day = _small(_base(shared_data), new=5, cross=2, replaced=3)
    snapshot = tmp_path / "snapshot"
    with start_fake_arxiv([day], now=AFTER_22, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                          workdir=tmp_path / "fake") as fake:
        digest = Digest(fake, _params(tmp_path), tmp_path / "live", AFTER_22)
        recorded = digest("snapshot", "--date", "2026-01-22", str(snapshot))
        assert "Recorded the announcement of 2026-01-22" in recorded.stdout
        digest.run("2026-01-22")
        served = len(fake.log())
    assert fake.process.poll() is not None and served > 0
    entries = json.loads((snapshot / "index.json").read_text(encoding="utf-8"))["entries"]
    assert sum(key.startswith("GET /pdf/") for key in entries) == 7

    digest.run("2026-01-22", "--replay", str(snapshot), out=tmp_path / "replayed")
    live = _post_path(tmp_path / "live", "2026-01-22").read_bytes()
    assert _post_path(tmp_path / "replayed", "2026-01-22").read_bytes() == live
    assert len(_post(tmp_path / "live", "2026-01-22").papers) == 7
    with Store(tmp_path / "replayed" / "digest.sqlite") as store:
        texts = [store.get_fulltext(p["id"], 1) for p in day["papers"] if p["announce_type"] in NEW_TYPES]
    assert [t.fulltext.status.value for t in texts] == ["ok"] * 7  # the PDFs came from the snapshot


# ---------------------------------------------------------------- selection rules, in process


def _paper(arxiv_id: str, kind: str, cats: tuple[str, ...], title: str = "A speech model") -> Paper:
    return Paper(arxiv_id=arxiv_id, version=1 if kind in NEW_TYPES else 2, title=title, authors=("A. Author",),
                 categories=cats, abstract="We study audio.", announce_type=AnnounceType(kind))


def test_replacements_follow_the_filters_and_new_papers_are_claimed_once(tmp_path: Path) -> None:
    """The 更新 list obeys ``primary_only`` and the keyword filters as the new papers do; a paper new in two
    announcements is shown by the first post that claims it, and again by that post only."""
    params = dict(include_replacements=True, primary_only=True, exclude_keywords=["singing"])
    day1 = build_config(date="2026-01-22", out_dir=tmp_path, params=params, env={})
    day2 = build_config(date="2026-01-23", out_dir=tmp_path, params=params, env={})
    announced = [
        _paper("2601.00005", "new", ("cs.SD",)),
        _paper("2601.00004", "cross", ("cs.CL", "cs.SD")),  # primary elsewhere: dropped by primary_only
        _paper("2601.00003", "new", ("eess.AS",), title="A singing voice model"),  # excluded keyword
        _paper("2512.00002", "replace", ("eess.AS",)),
        _paper("2512.00001", "replace-cross", ("cs.LG", "eess.AS")),  # primary elsewhere
        _paper("2512.00000", "replace", ("cs.SD",), title="Singing synthesis"),  # excluded keyword
    ]
    with Store(tmp_path / "digest.sqlite") as store:
        first = select_papers(day1, store, announced)
        assert [p.arxiv_id for p in first.new] == ["2601.00005"]
        assert [p.arxiv_id for p in first.updates] == ["2512.00002"]
        assert first.fetched_count == 3
        # The same paper new again the next day (announced late, or seen by two routes): not shown twice.
        next_day = [_paper("2601.00005", "new", ("cs.SD",)), _paper("2601.00006", "new", ("cs.SD",))]
        again = select_papers(day2, store, next_day)
        assert [p.arxiv_id for p in again.new] == ["2601.00006"]
        assert [p.arxiv_id for p in select_papers(day1, store, announced).new] == ["2601.00005"]  # a re-run
        assert store.ledger() == {"2601.00005": dt.date(2026, 1, 22), "2601.00006": dt.date(2026, 1, 23)}
        store.save_announcement(day1.date, announced, "rss")
        stored = stored_selection(day1, store)  # what review and publish rebuild
        assert [p.arxiv_id for p in stored.new] == ["2601.00005"]
        assert [p.arxiv_id for p in stored.updates] == ["2512.00002"]


@integration
def test_a_stuck_feed_falls_back_to_the_api_and_says_so(shared_data: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The RSS feed still shows the previous mailing 3 h after it should have been regenerated: the day
    comes from the API's submission-date search, and the run's notes (notebook, report) say what that misses."""
    day1 = _small(_base(shared_data), new=3, cross=1, replaced=2)
    day2 = synthesize_week(day1, "2026-01-23", "2026-01-23")[0]
    now = "2026-01-23T09:00:00+00:00"  # the feed was due at 05:00Z (midnight ET); grace ends 08:00Z
    with start_fake_arxiv([day1, day2], now=now, rss_lag_hours=10, html_factory="tests.fakes.fake_arxiv:sample_html",
                          workdir=tmp_path / "fake") as fake:
        result, shown = _run_in_process(monkeypatch, fake, now, "2026-01-23", tmp_path / "out")
    assert {e.paper.arxiv_id for e in shown.entries} == _new_ids(day2)
    assert any("the RSS feed showed 2026-01-22, not 2026-01-23" in note and "cannot see replacements" in note
               for note in result.notes), result.notes


@integration
def test_days_without_announcement_get_the_short_post_when_asked(tmp_path: Path) -> None:
    """With ``no_announcement_post: true``, ``digest run`` writes a short post for a weekend day or the
    holiday's missing mailing, and backfilling Sat 01-17 .. Sun 01-18 writes the same posts; without it,
    nothing (no network is needed for either)."""
    def digest(params: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
        offline = ["--offline"] if args and args[0] in ("run", "backfill", "daily") else []  # no LLM endpoint
        cmd = [DIGEST, *args, "--params", str(params), "--out", str(out), "--quiet", *offline]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        return done

    plain = _params(tmp_path)
    done = digest(plain, tmp_path / "plain", "backfill", "--from", "2026-01-17", "--to", "2026-01-18")
    assert "Backfilling 0 announcement day(s)" in done.stdout and not (tmp_path / "plain").exists()

    (tmp_path / "short").mkdir()
    short = _params(tmp_path / "short", "no_announcement_post: true")
    digest(short, tmp_path / "backfill", "backfill", "--from", "2026-01-17", "--to", "2026-01-18")
    for date in ("2026-01-17", "2026-01-18"):
        digest(short, tmp_path / "run", "run", "--date", date)
        post = _post_path(tmp_path / "run", date).read_text(encoding="utf-8")
        assert _post_path(tmp_path / "backfill", date).read_text(encoding="utf-8") == post
        assert post.startswith("---\nlayout: post\n") and f"arXiv 在 {date} 没有发布" in post and "（周末）" in post
    digest(short, tmp_path / "run", "run", "--date", "2026-01-20")
    assert "（arXiv 节假日）" in _post_path(tmp_path / "run", "2026-01-20").read_text(encoding="utf-8")
