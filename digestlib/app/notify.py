"""Tell the reader the digest is out: an e-mail over SMTP and/or a chat webhook (``notify:`` parameters).

What is sent: the day's numbers (papers fetched and shown, how many are *for you*, pending ones, the LLM
cost), the titles of the papers that match the reader's interests, and the link to the post. After a
failed or incomplete run (when ``notify.events`` asks for it) the same message says what happened.

Rules:

* Credentials come from the environment only (the ``env`` mapping given: ``Config.environ``): the SMTP user and password from the variables named by
  ``notify.smtp_username_env`` / ``smtp_password_env``, the webhook URL (Slack and Telegram URLs carry a
  token) from ``notify.webhook_url_env``. Their values are registered for redaction before anything runs.
* STARTTLS is used whenever the server offers it (``smtp_starttls: auto``), demanded with ``required``;
  a password is never sent over a connection without TLS except to a loopback server.
* A notification that fails is reported in one line and never fails, undoes or repeats what it reports
  (:func:`send_all` never raises); each channel is tried once.

``post.report`` (pandas, for the day's cost) is loaded lazily with ``lazy_loader``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Callable, Mapping

import httpx
import lazy_loader as lazy

from ..base.config import Config, NotifySettings
from ..base.errors import NotifyError, redact
from ..base.http import enforce_deadline
from ..base.models import DayDigest, ResultStatus
from ..base.redaction import register_secret_env
from ..day import interests
from ..day.selection import stored_selection
from ..post.digest import build_digest
from ..store.store import Store

report = lazy.load("digestlib.post.report", suppress_warning=True)  # pandas, for the day's cost only

__all__ = ["DayNews", "DeliveryResult", "message", "webhook_payload", "send_email", "send_webhook", "send_all",
           "news_for_day", "post_link"]

EVENT_WORDS = {"publish": "已发布", "failed": "运行失败", "incomplete": "未完成（已达预算）"}


@dataclass(frozen=True)
class DayNews:
    """What a notification says about one day."""

    date: dt.date
    event: str  # publish | failed | incomplete
    fetched: int = 0
    shown: int = 0
    for_you: tuple[str, ...] = ()  # titles of the papers marked for the reader
    pending: int = 0
    cost: float | None = None
    link: str | None = None
    detail: str = ""  # the run's summary line or error (failed / incomplete)


@dataclass(frozen=True)
class DeliveryResult:
    """One channel's result: ``ok`` or the one-line reason it failed."""

    channel: str  # email | webhook
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"notification by {self.channel}: " + ("sent" if self.ok else f"failed ({self.detail})")


def post_link(settings: NotifySettings, date: dt.date) -> str | None:
    """``notify.link`` with ``{date}``, ``{year}``, ``{month}``, ``{day}`` filled in (None when unset)."""
    if not settings.link:
        return None
    return settings.link.format(date=date.isoformat(), year=f"{date:%Y}", month=f"{date:%m}", day=f"{date:%d}")


def message(news: DayNews) -> tuple[str, str]:
    """(subject, plain-text body) shared by every channel."""
    subject = f"arXiv Daily {news.date.isoformat()}: {EVENT_WORDS.get(news.event, news.event)}"
    lines = [f"arXiv Daily – {news.date.isoformat()}（{EVENT_WORDS.get(news.event, news.event)}）"]
    if news.event != "failed" or news.shown:
        lines.append(f"抓取 {news.fetched} 篇，本页显示 {news.shown} 篇，为你标记 {len(news.for_you)} 篇"
                     + (f"，{news.pending} 篇待补全" if news.pending else "")
                     + (f"，LLM 费用约 ${news.cost:.4f}" if news.cost is not None else "") + "。")
    if news.detail:
        lines.append(news.detail)
    if news.for_you:
        lines.append("")
        lines.append("★ 为你推荐：")
        lines.extend(f"- {title}" for title in news.for_you)
    if news.link:
        lines.append("")
        lines.append(news.link)
    return subject, redact("\n".join(lines))


# -- e-mail ----------------------------------------------------------------------------------------

def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def send_email(settings: NotifySettings, news: DayNews, env: Mapping[str, str]) -> None:
    """One message to ``notify.email_to`` through ``notify.smtp_host``; raises NotifyError on any failure."""
    subject, body = message(news)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.email_from or f"arxiv-digest@{socket.getfqdn() or 'localhost'}"
    msg["To"] = ", ".join(settings.email_to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="arxiv-digest")
    msg.set_content(body)
    user = env.get(settings.smtp_username_env) or ""
    password = env.get(settings.smtp_password_env) or ""
    host = settings.smtp_host or ""
    where = f"SMTP {host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(host, settings.smtp_port, timeout=settings.timeout_seconds) as smtp:
            smtp.ehlo()
            tls = False
            if settings.smtp_starttls != "off" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                tls = True
            elif settings.smtp_starttls == "required":
                raise NotifyError(f"{where} does not offer STARTTLS (smtp_starttls: required)")
            if user and password:
                if not tls and not _is_loopback(host):
                    raise NotifyError(f"{where} offers no TLS: the password is not sent in clear text")
                smtp.login(user, password)
            smtp.send_message(msg)
    except NotifyError:
        raise
    except smtplib.SMTPException as exc:
        raise NotifyError(f"{where}: {exc.__class__.__name__}: {_short(exc)}") from None
    except OSError as exc:  # refused, unreachable, timed out, TLS failures (ssl.SSLError is an OSError)
        raise NotifyError(f"{where}: {exc.strerror or exc.__class__.__name__}") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return redact(text[:160])


# -- webhook ---------------------------------------------------------------------------------------

def webhook_payload(kind: str, news: DayNews, *, telegram_chat_id: str | None = None) -> dict[str, object]:
    """The JSON body for a webhook of the given kind (json, slack, feishu, telegram)."""
    subject, body = message(news)
    if kind == "slack":
        return {"text": f"*{subject}*\n{body}"}
    if kind == "feishu":
        return {"msg_type": "text", "content": {"text": f"{subject}\n{body}"}}
    if kind == "telegram":
        return {"chat_id": telegram_chat_id, "text": f"{subject}\n{body}", "disable_web_page_preview": True}
    return {
        "event": news.event,
        "date": news.date.isoformat(),
        "subject": subject,
        "text": body,
        "fetched": news.fetched,
        "shown": news.shown,
        "for_you": list(news.for_you),
        "pending": news.pending,
        "cost": news.cost,
        "link": news.link,
    }


def send_webhook(settings: NotifySettings, news: DayNews, env: Mapping[str, str],
                 *, transport: httpx.BaseTransport | None = None) -> None:
    """One POST to the URL held by ``notify.webhook_url_env``; raises NotifyError on any failure."""
    url = env.get(settings.webhook_url_env) or ""
    if not url.startswith(("http://", "https://")):
        raise NotifyError(f"{settings.webhook_url_env} does not hold an http(s) URL")
    payload = webhook_payload(settings.webhook_kind, news, telegram_chat_id=settings.telegram_chat_id)
    try:
        # notify.timeout_seconds bounds the whole exchange (a webhook dripping its answer too)
        client = enforce_deadline(httpx.Client(timeout=settings.timeout_seconds, transport=transport,
                                               follow_redirects=False), settings.timeout_seconds)
        with client:
            response = client.post(url, content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                   headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as exc:
        raise NotifyError(f"webhook: {exc.__class__.__name__}") from None
    if response.status_code >= 300:
        raise NotifyError(f"webhook answered HTTP {response.status_code}")
    if settings.webhook_kind in ("feishu", "telegram", "slack"):
        _check_chat_answer(settings.webhook_kind, response)


def _check_chat_answer(kind: str, response: httpx.Response) -> None:
    """Feishu and Telegram answer HTTP 200 with an error inside the JSON; Slack answers ``ok``."""
    try:
        data = response.json()
    except ValueError:
        return
    if kind == "feishu" and isinstance(data, dict) and data.get("code", data.get("StatusCode", 0)) not in (0, None):
        raise NotifyError(f"feishu refused the message (code {data.get('code', data.get('StatusCode'))})")
    if kind == "telegram" and isinstance(data, dict) and data.get("ok") is False:
        raise NotifyError(f"telegram refused the message ({data.get('error_code', '?')})")


# -- all channels ----------------------------------------------------------------------------------

def _register_secrets(settings: NotifySettings) -> None:
    for name in (settings.smtp_password_env, settings.webhook_url_env):
        register_secret_env(name)


def channels(settings: NotifySettings, env: Mapping[str, str]) -> list[str]:
    """The configured channels: ``email`` when recipients and a host are set, ``webhook`` when its URL is."""
    out = []
    if settings.email_to and settings.smtp_host:
        out.append("email")
    if env.get(settings.webhook_url_env):
        out.append("webhook")
    return out


def send_all(settings: NotifySettings, news: DayNews, *, env: Mapping[str, str],
             report: Callable[[str], None] | None = None) -> list[DeliveryResult]:
    """Send ``news`` on every configured channel, once each, if ``news.event`` is among ``notify.events``.

    Never raises: each failure becomes an ``DeliveryResult`` and one line through ``report`` (stderr by default)."""
    if news.event not in settings.events:
        return []
    _register_secrets(settings)
    say = report or (lambda line: print(f"digest: warning: {line}", file=sys.stderr))
    outcomes: list[DeliveryResult] = []
    senders = {"email": send_email, "webhook": send_webhook}
    for channel in channels(settings, env):
        try:
            senders[channel](settings, news, env)
            outcomes.append(DeliveryResult(channel, True))
        except NotifyError as exc:
            outcomes.append(DeliveryResult(channel, False, exc.message))
            say(outcomes[-1].line())
        except Exception as exc:  # noqa: BLE001 - a notification must never break what it reports
            outcomes.append(DeliveryResult(channel, False, redact(exc.__class__.__name__)))
            say(outcomes[-1].line())
    return outcomes


def news_for_day(cfg: Config, event: str, *, detail: str = "", day: DayDigest | None = None) -> DayNews:
    """The numbers of ``cfg.date`` from the store (and ``day`` when the caller has it). The one place this
    module opens the store: a notification also follows a run that failed before it had one."""
    link = post_link(cfg.notify, cfg.date)
    cost = None
    try:
        if cfg.store_path.is_file():
            with Store(cfg.store_path) as store:
                if day is None:
                    day = build_digest(cfg, store, stored_selection(cfg, store))
                cost = _day_cost(cfg, store)
    except Exception:  # noqa: BLE001 - nothing stored yet (a failed run): say what we know
        pass
    if day is None:
        return DayNews(cfg.date, event, link=link, detail=detail)
    for_you = tuple(" ".join(e.paper.title.split()) for e in day.entries
                    if e.interest_terms or interests.score_paper(e.paper, cfg.interests).marked)
    pending = sum(1 for e in day.entries if e.interpretation_status is ResultStatus.PENDING)
    return DayNews(cfg.date, event, fetched=day.fetched_count, shown=day.shown_count, for_you=for_you,
                   pending=pending, cost=cost, link=link, detail=detail)


def _day_cost(cfg: Config, store: Store) -> float | None:
    try:
        return report.cost_summary(store.usage_rows(cfg.date.isoformat()), cfg.llm.prices).get("cost_usd")
    except Exception:  # noqa: BLE001 - the cost is a nicety in a notification
        return None



def notify_day(cfg: Config, event: str, *, detail: str = "", day: DayDigest | None = None,
               env: Mapping[str, str] | None = None) -> list[DeliveryResult]:
    """The CLI's hook (after publish, a failed or an incomplete run): send if ``notify.events`` asks for
    ``event``. Never raises; a failure is one line on stderr. ``env`` defaults to ``cfg.environ`` (the
    snapshot config.py took: this module never reads the environment itself)."""
    env = cfg.environ if env is None else env
    settings = getattr(cfg, "notify", None)
    if settings is None or event not in settings.events or not channels(settings, env):
        return []
    try:
        news = news_for_day(cfg, event, detail=detail, day=day)
    except Exception:  # noqa: BLE001 - the numbers are a nicety; the message still goes out
        news = DayNews(cfg.date, event, link=post_link(settings, cfg.date), detail=detail)
    return send_all(settings, news, env=env)
