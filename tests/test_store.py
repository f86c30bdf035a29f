"""The SQLite store: announcements stored whole, the exactly-once ledger, the retry queue, the cache."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from digestlib.base.errors import StoreError
from digestlib.base.models import AnnounceType, FullText, Paper, ResultStatus, ReviewStatus, TextStatus
from digestlib.store.store import Store

D1, D2 = dt.date(2026, 1, 22), dt.date(2026, 1, 23)


def paper(i: str, v: int = 1, kind: AnnounceType = AnnounceType.NEW) -> Paper:
    return Paper(i, v, f"Title {i}", ("A. Author", "B. Autor"), ("cs.SD", "eess.AS"), f"Abstract of {i}.",
                 announce_type=kind, published=dt.datetime(2026, 1, 20, 15, tzinfo=dt.timezone.utc))


def test_announcement_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        assert store.announcement(D1) is None
        store.save_announcement(D1, [paper("2601.00002"), paper("2601.00001", 2, AnnounceType.REPLACE)], "rss")
        got = store.announcement(D1)
    assert [(p.arxiv_id, p.version, p.announce_type) for p in got] == [
        ("2601.00002", 1, AnnounceType.NEW), ("2601.00001", 2, AnnounceType.REPLACE)]
    assert got[0].authors == ("A. Author", "B. Autor") and got[0].published.year == 2026


def test_ledger_gives_each_paper_one_post(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        assert store.claim(D2, "2601.00001", 1) == D2
        assert store.claim(D1, "2601.00001", 1) == D2  # already carried by the other post
        assert store.claim(D2, "2601.00001", 1) == D2  # a re-run keeps it
    with Store(path) as store:  # survives reopening
        assert store.ledger() == {"2601.00001": D2}


def test_retry_queue_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        store.save_fulltext(FullText("2601.00001", 1, TextStatus.PENDING, detail="PDF 尚未发布"))
        store.save_fulltext(FullText("2601.00002", 1, TextStatus.OK, "pdf", sections={"introduction": "x"}))
    with Store(path) as store:
        assert store.pending_fulltexts() == [("2601.00001", 1)]
        store.save_fulltext(FullText("2601.00001", 1, TextStatus.PENDING))
        record = store.get_fulltext("2601.00001", 1)
        assert record.attempts == 2 and record.first_attempt_at <= record.last_attempt_at
        store.save_fulltext(FullText("2601.00001", 1, TextStatus.OK, "pdf", sections={"method": "m"}))
        assert store.pending_fulltexts() == []
        assert store.get_fulltext("2601.00001", 1).fulltext.sections == {"method": "m"}


def test_results_cache_and_usage(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.save_result("2601.00001", 1, "translate", ResultStatus.DONE, content={"text": "中文"}, model="m")
        assert store.get_result("2601.00001", 1, "translate").content == {"text": "中文"}
        store.cache_put("k", task="translate", model="m", response={"content": "x"}, prompt_tokens=10,
                        completion_tokens=5)
        assert store.cache_get("k") == {"content": "x"} and store.cache_get("other") is None
        store.record_call(day="2026-01-22", task="translate", model="m", prompt_tokens=10, completion_tokens=5,
                          cached=False, seconds=1.0)
        store.record_call(day="2026-01-22", task="translate", model="m", prompt_tokens=10, completion_tokens=5,
                          cached=True, seconds=0.0)
        rows = store.usage_rows("2026-01-22")
        assert rows == [{"task": "translate", "model": "m", "calls": 2, "cached_calls": 1, "prompt_tokens": 10,
                         "completion_tokens": 5, "seconds": 1.0}]
        assert sum(r["calls"] - r["cached_calls"] for r in store.usage_rows()) == 1


def test_secrets_are_redacted_before_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-0123456789abcdef")
    with Store(tmp_path / "s.sqlite") as store:
        store.save_result("2601.00001", 1, "interpret", ResultStatus.FAILED,
                          detail="401: bad key sk-canary-0123456789abcdef")
    assert b"sk-canary" not in (tmp_path / "s.sqlite").read_bytes()


def test_edits_and_approvals(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store.save_edit("2601.00001", 1, "abstract_zh", "改过的译文")
        assert store.edits("2601.00001", 1) == {"abstract_zh": "改过的译文"}
        with pytest.raises(StoreError):
            store.save_edit("2601.00001", 1, "title", "x")
        store.set_review(D1, "2601.00001", 1, ReviewStatus.REJECTED)
        assert store.reviews(D1)["2601.00001"].status is ReviewStatus.REJECTED


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="unusable"):
        Store(path)


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def test_a_second_store_on_a_file_open_here_does_not_reopen_it_behind_sqlite(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing any descriptor of the file drops this process's POSIX locks, the open connection's too
    (sqlite.org/howtocorrupt.html 2.2): the header check runs only when no connection here has it open."""
    from digestlib.store import connection

    checked: list[Path] = []
    real = connection.check_store_file
    monkeypatch.setattr(connection, "check_store_file", lambda path: (checked.append(path), real(path))[1])
    path = tmp_path / "s.sqlite"
    Store(path).close()  # created: nothing to check
    with Store(path) as first:
        assert checked == [path]
        with Store(path) as second:  # the first holds the file open: no open()/close() of our own
            second.claim(D1, "2601.00001", 1)
        assert checked == [path] and first.ledger() == {"2601.00001": D1}
    with Store(path):
        assert checked == [path, path]  # none open any more: checked again
