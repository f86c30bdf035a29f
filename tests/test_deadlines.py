"""Issue 23, "nothing hangs": one deadline for the whole of each answer, download and notification.

httpx's timeouts are per read: a server sending one byte a second never trips them. ``digestlib.base.http``
gives each exchange one deadline (connect, wait, body); these tests serve hung and dripping answers from
loopback servers and check that a day, a download and a webhook each end within a bound, and that one hung
PDF costs one deadline while the other papers are interpreted. Bounds are generous (a loaded 2-core
machine must not miss them); what fails before the change is hanging far past them.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from digestlib.base.config import NotifySettings
from digestlib.base.errors import NotifyError
from digestlib.base.http import DeadlineExceeded, make_client
from digestlib.app.notify import DayNews, send_webhook
from tests.test_resilience import (  # noqa: F401 - day_factory is a fixture
    _entries,
    day_factory,
    write_params,
)


# ------------------------------------------------------------------------------- a hostile raw server

class _RawServer:
    """A loopback TCP server answering each connection by ``mode``: ``body`` (headers at once, then the body
    one byte per ``pace`` seconds), ``head`` (the status line and headers dripped), ``hang`` (nothing)."""

    def __init__(self, mode: str, pace: float = 1.0) -> None:
        self.mode, self.pace = mode, pace
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                if self.mode == "body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                    data = b"{" + b" " * 99999
                elif self.mode == "head":
                    data = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100000
                else:
                    self.stopped.wait(600)
                    return
                for i in range(len(data)):
                    if self.stopped.is_set():
                        return
                    conn.sendall(data[i:i + 1])
                    time.sleep(self.pace)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def raw_server() -> Iterator:
    servers: list[_RawServer] = []

    def make(mode: str, pace: float = 1.0) -> _RawServer:
        servers.append(_RawServer(mode, pace))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


# ------------------------------------------------------------------------------------- the HTTP layer

@pytest.mark.parametrize("mode", ["body", "head", "hang"])
@pytest.mark.integration
def test_a_dripping_or_hung_answer_costs_one_deadline(raw_server, mode: str) -> None:
    server = raw_server(mode, pace=0.2)  # every read succeeds well within the 2 s timeout
    started = time.monotonic()
    with make_client(allowed_urls=[server.url], timeout=2.0) as client, pytest.raises(DeadlineExceeded):
        client.get(server.url + "/x")
    assert time.monotonic() - started < 30  # before: the body alone took 100000 x 0.2 s


@pytest.mark.integration
def test_a_webhook_dripping_its_answer_is_bounded(raw_server) -> None:
    server = raw_server("body", pace=1.0)  # one byte a second
    settings = NotifySettings(webhook_kind="json", timeout_seconds=2.0)
    news = DayNews(date=dt.date(2026, 1, 22), event="publish")
    started = time.monotonic()
    with pytest.raises(NotifyError):
        send_webhook(settings, news, {settings.webhook_url_env: server.url + "/hook"})
    assert time.monotonic() - started < 30  # before: 100000 s


# ------------------------------------------------------------------------------------- whole days

@pytest.mark.integration
def test_an_llm_answering_a_byte_a_second_ends_the_day_within_two_minutes(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    day.llm.control(every={"drip": 1.0})  # every answer one byte a second: each read succeeds
    params = write_params(tmp_path / "drip.yaml", llm={"timeout_seconds": 10})
    out = tmp_path / "out"
    started = time.monotonic()
    done = day.run(out, "--quiet", params=params, timeout=600)
    seconds = time.monotonic() - started
    assert seconds < 120, f"the day took {seconds:.0f} s"
    assert done.returncode == 69, done.stderr[-2000:]
    assert "no whole answer within 10 s" in done.stderr
    assert not (out / "2026-01-22" / "2026-01-22-arxiv-daily.md").exists()


@pytest.mark.integration
def test_one_hung_pdf_costs_one_deadline_and_the_others_are_interpreted(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    hung = day.new_papers[3]["id"]
    day.arxiv.faults({f"pdf:{hung}v1": [{"stall": 600}] * 4})  # accepts the connection, never answers
    params = write_params(tmp_path / "hung.yaml", fulltext={"download_timeout_seconds": 8, "max_retries": 3})
    out = tmp_path / "out"
    done = day.run(out, "--quiet", params=params, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    asked = [r for r in day.arxiv.log() if r["route"] == "pdf" and hung in r["path"]]
    assert len(asked) == 1, asked  # before: 4 tries of 8 s each, every other download waiting behind them
    entries = _entries(out)
    assert len(entries) == 25
    interpreted = [i for i, e in entries.items() if e.details_md.startswith("1)  \n")]
    assert len(interpreted) == 24 and hung not in interpreted


# ------------------------------------------------------------------------------------- honest stops

@pytest.mark.integration
def test_a_retry_after_longer_than_the_run_may_wait_stops_at_once_with_75(day_factory, tmp_path: Path) -> None:
    day = day_factory()
    day.llm.control(every={"status": 429, "headers": {"Retry-After": "100000"},
                           "body": {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}})
    out = tmp_path / "out"
    started = time.monotonic()
    done = day.run(out, "--quiet", timeout=600)
    seconds = time.monotonic() - started
    assert done.returncode == 75, done.stderr[-2000:]
    assert seconds < 90, f"took {seconds:.0f} s"  # before: waits of 120 s, over and over, past 590 s
    line = [ln for ln in done.stderr.splitlines() if "rate limited" in ln]
    assert line and "asks to wait 100000 s (until " in line[0] and "UTC" in line[0], done.stderr[-2000:]
    assert not (out / "2026-01-22" / "2026-01-22-arxiv-daily.md").exists()


@pytest.mark.integration
def test_an_html_page_for_every_answer_is_an_unusable_endpoint_within_a_few_requests(day_factory,
                                                                                     tmp_path: Path) -> None:
    day = day_factory()
    day.llm.control(every={"html": True})  # a bot wall: HTTP 200, text/html
    out = tmp_path / "out"
    done = day.run(out, timeout=600)
    assert done.returncode == 69, done.stderr[-2000:]
    assert "does not answer as an OpenAI-compatible API" in done.stderr
    sent = len(day.llm.log())
    assert sent <= 12, sent  # before: 225 requests, then exit 3 with 25 failure labels
    assert not (out / "2026-01-22" / "2026-01-22-arxiv-daily.md").exists()
    summary = [ln for ln in (done.stdout + done.stderr).splitlines() if " calls" in ln and "papers" in ln]
    assert summary and f" {sent} calls" in summary[-1], (sent, summary)  # the requests really sent


# ------------------------------------------------------------------------------------- no endpoint

@pytest.mark.integration
@pytest.mark.parametrize("command", ["run", "daily"])
def test_no_endpoint_configured_is_exit_2_with_no_post_unless_offline(day_factory, tmp_path: Path,
                                                                      command: str) -> None:
    import subprocess

    from tests.test_resilience import DATE, DIGEST, ROOT, post_of  # noqa: F401

    day = day_factory()
    env = day.env(OPENAI_API_KEY="")  # an empty key and no base URL: a broken cron environment
    env.pop("OPENAI_BASE_URL")
    out = tmp_path / "out"
    args = ["run", "--date", DATE] if command == "run" else ["daily"]
    base = [DIGEST, *args, "--params", str(day.params), "--out", str(out), "--quiet"]
    done = subprocess.run(base, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "no LLM endpoint configured" in done.stderr and "--offline" in done.stderr
    assert not list(out.rglob("*.md")) and day.llm.log() == []
    if command == "run":  # asked for: the English-only post
        done = subprocess.run([*base, "--offline"], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
        assert (out / DATE / f"{DATE}-arxiv-daily.md").is_file()


# ------------------------------------------------------------------------------------- secrets

@pytest.mark.integration
def test_a_password_in_openai_base_url_is_in_no_file_under_out(day_factory, tmp_path: Path) -> None:
    password = "pw-canary-7d1e93b2c4"
    day = day_factory(api_key=None)
    url = day.llm.url.replace("http://", f"http://digest:{password}@")
    out = tmp_path / "out"
    done = day.run(out, "--quiet", env=day.env(OPENAI_BASE_URL=url), timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(day.llm.log()) > 0
    leaks = [str(p) for p in out.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert leaks == [] and password not in done.stdout + done.stderr  # before: the store's llm_capabilities


# ------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("content", "expected"), [
    ("llm: {concurency: 3}\n", r"unknown key llm\.concurency in .*p\.yaml; did you mean 'concurrency'\?"),
    ("max_paper: 3\n", r"unknown key 'max_paper' in .*p\.yaml; did you mean 'max_papers'\?"),
    ("categories: cs.SD\n", r"'categories' must be a list of strings, e.g\. \[cs\.SD\].*\(in .*p\.yaml\)"),
])
def test_a_bad_parameter_names_its_file_and_key_with_a_did_you_mean(tmp_path: Path, content: str,
                                                                   expected: str, digest_cli) -> None:
    import re

    params = tmp_path / "p.yaml"
    params.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    done = digest_cli(["run", "--date", "2026-01-22", "--params", str(params), "--out", str(out), "--offline"])
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert re.search(expected, done.stderr), done.stderr
    assert not out.exists()


@pytest.mark.parametrize("args", [
    ["review", "--date", "2026-01-22", "--port", "99999"],
    ["run", "--date", "2031-03-04", "--replay", "{snap}", "--offline"],
])
def test_a_bad_port_or_a_future_replayed_date_is_exit_2_with_nothing_written(tmp_path: Path, args: list,
                                                                             digest_cli) -> None:
    snap = tmp_path / "snap"
    snap.mkdir()
    out = tmp_path / "out"
    done = digest_cli([*[a.format(snap=snap) for a in args], "--out", str(out)], clean_env=False,
                      env={"DIGEST_NOW": "2026-01-22T06:00:00Z"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert not out.exists()


@pytest.mark.integration
def test_a_dns_failure_for_arxiv_fails_fast(tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.test_resilience import DIGEST

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(ARXIV_RSS_URL="http://arxiv-dns-test.invalid/atom", DIGEST_NOW="2026-01-22T06:00:00Z",
               ARXIV_API_URL="http://arxiv-dns-test.invalid/api/query")  # .invalid never resolves (RFC 2606)
    started = time.monotonic()
    done = subprocess.run([DIGEST, "run", "--date", "2026-01-22", "--out", str(tmp_path / "out"), "--quiet",
                           "--offline"], env=env, capture_output=True, text=True, timeout=300)
    assert time.monotonic() - started < 30  # before: ~45 s of retries
    assert done.returncode == 1 and "does not resolve (DNS" in done.stderr, done.stderr


def test_logging_records_are_redacted() -> None:
    import io
    import logging

    from digestlib.base.redaction import install_log_redaction

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a handler someone (a notebook, a library) configured
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_redaction()
        logging.getLogger("some.library").warning("calling https://bob:hunter2-secret@gw.example.com/v1 with %s",
                                                  "-".join(("sk", "abcdefghijklmnop1234567890")))  # built here: no key-like literal tracked
    finally:
        root.removeHandler(handler)
    err = stream.getvalue()
    assert "gw.example.com" in err and "hunter2-secret" not in err and "sk-abcdefghijklmnop" not in err, err


def test_a_failed_snapshot_leaves_nothing_and_quiet_is_quiet(tmp_path: Path, digest_cli) -> None:
    env = dict(ARXIV_RSS_URL="http://127.0.0.1:9/atom", ARXIV_API_URL="http://127.0.0.1:9/api/query",
               DIGEST_NOW="2026-01-22T06:00:00Z")  # refused connections: retried, then an error
    params = tmp_path / "p.yaml"
    params.write_text("categories: [cs.SD]\narxiv: {max_retries: 1, api_delay_seconds: 0.01}\n", encoding="utf-8")
    folder = tmp_path / "snap"
    done = digest_cli(["snapshot", "--date", "2026-01-22", str(folder), "--params", str(params),
                       "--out", str(tmp_path / "out"), "-q"], env=env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("digest: error:"), done.stderr  # no retry lines
    assert not folder.exists()


@pytest.mark.parametrize("tag", ["C++", "a tag", "日本"])
def test_one_tag_rule_for_config_and_render(tag: str) -> None:
    from digestlib.base.config import build_config
    from digestlib.base.errors import ConfigError, RenderError
    from digestlib.base.models import DayDigest, Window
    from digestlib.post.render import front_matter

    def post_with(date: dt.date, categories: tuple[str, ...], tags: tuple[str, ...]) -> str:
        start = dt.datetime(2026, 1, 21, 2, tzinfo=dt.timezone.utc)
        window = Window(start, start + dt.timedelta(days=1), "10:00", "CST", "北京时间")
        return front_matter(DayDigest(date=date, categories=categories, window=window, fetched_count=0, entries=(),
                                      tags=tags))

    with pytest.raises(ConfigError):
        build_config(date="2026-01-22", params={"tags": [tag]}, env={})
    with pytest.raises(RenderError):
        post_with(dt.date(2026, 1, 22), ("cs.SD",), (tag,))
    cfg = build_config(date="2026-01-22", params={"tags": ["text_to_speech", "cs.SD"]}, env={})
    assert "tags: [text_to_speech, cs.SD]" in post_with(cfg.date, tuple(cfg.categories), tuple(cfg.tags))  # passes both
