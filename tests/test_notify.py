"""notify.py: an e-mail to a loopback SMTP server (aiosmtpd) and a POST to a loopback webhook, after
`digest publish`; a dead SMTP server or webhook is reported in one line and never fails the publish."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from digestlib.app import cli, notify
from digestlib.base.config import NotifySettings, build_config
from digestlib.day.pipeline import run_day
from digestlib.app.demo import SAMPLE_DATE, write_sample_snapshot

NEWS = notify.DayNews(dt.date(2026, 2, 5), "publish", fetched=6, shown=5, for_you=("Paper A", "Paper B"),
                      cost=0.0123, link="https://example.org/2026-02-05")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append({"path": self.path, "type": self.headers.get("Content-Type"),
                                    "body": json.loads(body)})
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')


@pytest.fixture
def webhook() -> Iterator[tuple[type[_Hook], str]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}/hook/secret-token-123"
    finally:
        server.shutdown()
        server.server_close()


def test_message_carries_the_numbers_the_for_you_titles_and_the_link() -> None:
    subject, body = notify.message(NEWS)
    assert "2026-02-05" in subject
    assert "抓取 6 篇" in body and "本页显示 5 篇" in body and "为你标记 2 篇" in body
    assert "- Paper A" in body and "https://example.org/2026-02-05" in body and "$0.0123" in body


@pytest.mark.parametrize("kind,check", [
    ("json", lambda b: b["event"] == "publish" and b["for_you"] == ["Paper A", "Paper B"] and b["shown"] == 5),
    ("slack", lambda b: set(b) == {"text"} and "Paper A" in b["text"]),
    ("feishu", lambda b: b["msg_type"] == "text" and "Paper B" in b["content"]["text"]),
    ("telegram", lambda b: b["chat_id"] == "42" and "example.org" in b["text"]),
])
def test_webhook_shapes(kind: str, check) -> None:
    assert check(notify.webhook_payload(kind, NEWS, telegram_chat_id="42"))


@pytest.mark.integration
def test_email_and_webhook_are_sent_once_each(smtp, webhook) -> None:
    inbox, port = smtp
    hook, url = webhook
    settings = NotifySettings(email_to=("reader@example.org",), email_from="digest@example.org",
                              smtp_host="127.0.0.1", smtp_port=port, webhook_kind="slack")
    outcomes = notify.send_all(settings, NEWS, env={"DIGEST_WEBHOOK_URL": url}, report=pytest.fail)
    assert [o.ok for o in outcomes] == [True, True]
    assert len(inbox.messages) == 1 and inbox.messages[0][0] == ["reader@example.org"]
    mail = message_from_bytes(inbox.messages[0][1], policy=policy.default)
    assert "2026-02-05" in mail["Subject"] and "Paper B" in mail.get_content()
    assert len(hook.received) == 1 and "Paper A" in hook.received[0]["body"]["text"]


@pytest.mark.integration
def test_failures_are_one_line_each_and_never_raise(webhook) -> None:
    hook, url = webhook
    hook.status = 500
    lines: list[str] = []
    settings = NotifySettings(email_to=("reader@example.org",), smtp_host="127.0.0.1", smtp_port=_free_port(),
                              smtp_starttls="required")
    outcomes = notify.send_all(settings, NEWS, env={"DIGEST_WEBHOOK_URL": url}, report=lines.append)
    assert [o.ok for o in outcomes] == [False, False]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert "SMTP 127.0.0.1" in lines[0] and "HTTP 500" in lines[1]
    assert "secret-token-123" not in " ".join(lines), "the webhook URL (a secret) never appears"


@pytest.mark.integration
def test_starttls_required_but_not_offered_refuses_to_send(smtp) -> None:
    inbox, port = smtp
    settings = NotifySettings(email_to=("r@example.org",), smtp_host="127.0.0.1", smtp_port=port,
                              smtp_starttls="required")
    with pytest.raises(notify.NotifyError, match="STARTTLS"):
        notify.send_email(settings, NEWS, env={})
    assert inbox.messages == []


@pytest.mark.integration
def test_events_not_asked_for_send_nothing(smtp) -> None:
    inbox, port = smtp
    settings = NotifySettings(email_to=("r@example.org",), smtp_host="127.0.0.1", smtp_port=port)
    assert notify.send_all(settings, notify.DayNews(NEWS.date, "failed"), env={}) == []
    assert inbox.messages == []


# -- through `digest publish` ---------------------------------------------------------------------------

def _stored_sample_day(tmp_path: Path, *, smtp_port: int) -> tuple[Path, Path]:
    """The bundled sample day run in-process (offline, no LLM) into ``out``; a parameter file that
    publishes without review and notifies by e-mail and webhook."""
    snapshot = write_sample_snapshot(tmp_path / "snapshot")
    out = tmp_path / "out"
    params = tmp_path / "params.yaml"
    params.write_text(
        "publish: {require_review: false}\n"
        "interests: {keywords: {target speaker extraction: 3, streaming: 2}}\n"
        f"notify: {{email_to: [reader@example.org], smtp_host: 127.0.0.1, smtp_port: {smtp_port},"
        " webhook_kind: json, link: 'https://example.org/{date}'}\n",
        encoding="utf-8")
    cfg = build_config(date=SAMPLE_DATE, out_dir=out, replay_dir=snapshot, params={
        "publish": {"require_review": False}}, env={})
    run_day(cfg)
    return out, params


def _publish(out: Path, params: Path, monkeypatch, url: str) -> int:
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DIGEST_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DIGEST_WEBHOOK_URL", url)
    return cli.main(["publish", "--date", SAMPLE_DATE.isoformat(), "--out", str(out), "--params", str(params)])


@pytest.mark.integration
def test_publish_sends_one_email_and_one_post(tmp_path, smtp, webhook, monkeypatch, capsys) -> None:
    inbox, port = smtp
    hook, url = webhook
    out, params = _stored_sample_day(tmp_path, smtp_port=port)
    assert _publish(out, params, monkeypatch, url) == 0
    assert len(inbox.messages) == 1
    assert len(hook.received) == 1
    body = hook.received[0]["body"]
    assert body["event"] == "publish" and body["date"] == SAMPLE_DATE.isoformat()
    assert body["link"] == f"https://example.org/{SAMPLE_DATE.isoformat()}"
    assert len(body["for_you"]) == 2 and any("Target Speaker Extraction" in t for t in body["for_you"])
    assert (out / SAMPLE_DATE.isoformat() / f"{SAMPLE_DATE.isoformat()}.bib").is_file()
    assert "warning" not in capsys.readouterr().err


@pytest.mark.integration
def test_a_dead_smtp_server_does_not_fail_the_publish(tmp_path, webhook, monkeypatch, capsys) -> None:
    hook, url = webhook
    out, params = _stored_sample_day(tmp_path, smtp_port=_free_port())  # nobody listens there
    assert _publish(out, params, monkeypatch, url) == 0
    err = capsys.readouterr().err
    assert err.count("notification by email: failed") == 1
    assert len(hook.received) == 1, "the webhook still goes out, once"
    assert (out / SAMPLE_DATE.isoformat() / f"{SAMPLE_DATE.isoformat()}-arxiv-daily.md").is_file()
