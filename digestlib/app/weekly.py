"""``digest weekly --week YYYY-Www``: the week's papers in one post, from what the store holds (no LLM call).

A reader who skipped a few days wants the week at a glance: the papers marked for them first, then every
paper of the week grouped by its primary category, each title linked to its place in its daily post
(``{daily post url}#{paper_anchor(id)}``, contract 1), with the venue the authors name, their code and
demo links, and the first sentence of its Chinese abstract. No LLM call, unless ``weekly.overview: true``
asks for a short 本周概览 paragraph (one call, cached in the store; a missing overview is said, never hidden).

The daily posts' addresses are the ones Jekyll gives them: :func:`jekyll_post_url` applies the site's
``permalink`` style (``date`` by default, ``pretty``, ``ordinal``, ``weekdate``, ``none`` or a template of
placeholders) and ``baseurl`` from its ``_config.yml`` to each post's date and slug.

The post is ``<monday>-arxiv-weekly-<YYYY>-W<ww>.md`` (front matter: layout post, title
``arXiv Weekly – 2026-W04``, tags with ``weekly``; contract 3); a field with its own ``post_slug``
(``arxiv-daily-cs-cl``) gets its own weekly name (``arxiv-weekly-cs-cl``), so fields sharing a site never
overwrite each other's week. It is written to ``<out>/weekly/`` and, with ``--site``, to ``SITE/_posts/``
(committed like a daily post, :func:`site.write_post`).

Owns: the week's selection from the store, the weekly layout and the post URLs. Must not: fetch, call the
LLM, or change a daily post.

It imports the LLM client (openai) for the overview at module level: the CLI loads this module only
when a week is written (``cli.py``'s one lazy place).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from ..base import calendar
from ..base.atomic import atomic_write_text
from ..base.config import Config
from ..base.errors import DigestError, LLMError, UsageError
from ..llm.client import Completion, LLMClient
from ..post.markup import clean_answer_markdown
from ..tasks.prompts import PROMPT_VERSION, language_values, render_prompt
from ..post.labels import labels_for, weekly_labels_for
from ..post.markup import escape_markdown, escape_text, restrict_links
from ..base.models import PaperEntry
from ..base.safe_yaml import YAMLRefused, load_yaml_file
from ..day.selection import stored_selection
from ..post.digest import build_digest
from ..source.ids import paper_anchor
from ..store.store import Store
from .site import write_post

__all__ = ["WeekDay", "WeekDigest", "WeeklyResult", "week_overview", "first_sentence", "jekyll_post_url", "parse_week", "read_week",
           "render_weekly", "site_url_settings", "week_label", "weekly_post_name", "write_weekly"]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9.-]*$")


def parse_week(value: str) -> tuple[dt.date, dt.date]:
    """``2026-W04`` -> its Monday and Sunday (ISO 8601 weeks); a bad value is a ``UsageError``."""
    m = _WEEK.match((value or "").strip())
    if not m:
        raise UsageError(f"--week must be an ISO week such as 2026-W04, got {value!r}")
    try:
        monday = dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise UsageError(f"{value!r} is not a week of {m.group(1)} (ISO weeks run 01 to 52 or 53)") from None
    return monday, monday + dt.timedelta(days=6)


def week_label(day: dt.date) -> str:
    """The ISO week holding ``day``: ``2026-W04``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_slug(post_slug: str) -> str:
    """The weekly post's slug for a field's daily slug: ``arxiv-daily`` -> ``arxiv-weekly``."""
    return post_slug.replace("daily", "weekly", 1) if "daily" in post_slug else f"{post_slug}-weekly"


def weekly_post_name(cfg: Config, monday: dt.date) -> str:
    """``2026-01-19-arxiv-weekly-2026-W04.md`` (contract 3)."""
    return f"{monday.isoformat()}-{weekly_slug(cfg.post_slug)}-{week_label(monday)}.md"


# ----------------------------------------------------------------------------------------- post URLs

PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}


def jekyll_post_url(date: dt.date, slug: str, permalink: str = "date", baseurl: str = "") -> str:
    """The address Jekyll gives the post ``_posts/<date>-<slug>.md`` (no categories in its front matter,
    as ours have none), under ``baseurl``."""
    template = PERMALINK_STYLES.get(permalink, permalink)
    values = {
        "year": f"{date.year:04d}", "month": f"{date.month:02d}", "i_month": str(date.month),
        "day": f"{date.day:02d}", "i_day": str(date.day), "short_year": f"{date.year % 100:02d}",
        "y_day": f"{date.timetuple().tm_yday:03d}", "week": f"{date.isocalendar()[1]:02d}",
        "w_year": str(date.isocalendar()[0]), "short_day": date.strftime("%a"), "long_day": date.strftime("%A"),
        "short_month": date.strftime("%b"), "long_month": date.strftime("%B"), "hour": "00", "minute": "00",
        "second": "00", "title": slug, "slug": slug, "name": slug, "categories": "", "output_ext": ".html",
    }
    url = re.sub(r":([a-z_]+)", lambda m: values.get(m.group(1), m.group(0)), template)
    url = re.sub(r"/{2,}", "/", "/" + url)
    base = "/" + baseurl.strip("/") if baseurl and baseurl.strip("/") else ""
    return base + url


def site_url_settings(site: Path | None) -> tuple[str, str]:
    """The site's ``permalink`` and ``baseurl`` (Jekyll's defaults without a site or without the keys)."""
    if site is None or not (site / "_config.yml").is_file():
        return "date", ""
    try:
        data = load_yaml_file(site / "_config.yml")
    except (YAMLRefused, OSError, ValueError) as exc:
        raise UsageError(f"{site / '_config.yml'} cannot be read: {exc}") from None
    data = data if isinstance(data, dict) else {}
    return str(data.get("permalink") or "date"), str(data.get("baseurl") or "")


# ------------------------------------------------------------------------------------- the week's data

@dataclass(frozen=True)
class WeekDay:
    date: dt.date
    url: str  # the daily post's address on the site
    entries: tuple[PaperEntry, ...]


@dataclass(frozen=True)
class WeekDigest:
    monday: dt.date
    sunday: dt.date
    categories: tuple[str, ...]  # the field's categories: their groups come first
    days: tuple[WeekDay, ...]
    title: str
    tags: tuple[str, ...]
    language: str = "zh"
    overview: str = ""  # the optional 本周概览 (weekly.overview), plain text from the model

    @property
    def paper_count(self) -> int:
        return sum(len(d.entries) for d in self.days)


def read_week(week: str, store: Store, load: Callable[[dt.date], Config],
              url_for: Callable[[Config], str]) -> WeekDigest:
    """The week's days as the store holds them (rejected papers left out, edits in place), oldest first.
    ``url_for(cfg)`` gives a day's post address. Nothing stored for the week is a ``DigestError``."""
    monday, sunday = parse_week(week)
    cfg = load(monday)
    days: list[WeekDay] = []
    for date in calendar.mailing_dates(monday, sunday):
        day_cfg = load(date)
        if store.announcement(date) is None:
            continue
        digest = build_digest(day_cfg, store, stored_selection(day_cfg, store))
        if digest.entries:
            days.append(WeekDay(date, url_for(day_cfg), digest.entries))
    if not days:
        raise DigestError(f"nothing is stored for {week} ({monday} — {sunday}) in {cfg.out_dir}: "
                          f"run `digest run --date D` for its days first")
    label = week_label(monday)
    title = (cfg.title.replace("Daily", "Weekly").replace("{date}", label) if cfg.title
             else f"arXiv Weekly – {label}")
    tags = tuple(dict.fromkeys(cfg.tags or ("arxiv", *cfg.categories)))
    tags = (tags[0], "weekly", *tags[1:]) if "weekly" not in tags else tags
    return WeekDigest(monday, sunday, cfg.categories, tuple(days), title, tags, cfg.language)


# ----------------------------------------------------------------------------------------------- render

_SENTENCE_END_CJK = re.compile(r"[。！？]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
MAX_SENTENCE_CHARS = 300


def first_sentence(text: str) -> str:
    """The first sentence: up to the first 。！？ (Chinese, Japanese), else the first ``. `` before a
    capital (English); at most :data:`MAX_SENTENCE_CHARS` characters."""
    text = " ".join((text or "").split())
    m = _SENTENCE_END_CJK.search(text)
    if m:
        text = text[:m.end()]
    else:
        m = _SENTENCE_END.search(text)
        text = text[:m.start()] if m else text
    return text if len(text) <= MAX_SENTENCE_CHARS else text[:MAX_SENTENCE_CHARS - 1].rstrip() + "…"


def _fallback_labels(language: str) -> tuple[str, ...]:
    words = labels_for(language)
    return (words.untranslated, words.translation_pending, *words.translation_failed.values())


def _abstract_sentence(entry: PaperEntry, language: str) -> str:
    """The abstract's first sentence as Markdown: the Chinese one (a reviewer's edit included), or the
    English one, marked, while the abstract is not translated."""
    marker = weekly_labels_for(language).english_marker
    if language == "en" or entry.abstract_zh.startswith(_fallback_labels(language)) or not entry.abstract_zh:
        sentence = escape_text(first_sentence(entry.paper.abstract))
        return f"{marker}{sentence}" if sentence and marker else sentence
    own = (*entry.code_links, *entry.demo_links)
    return escape_markdown(restrict_links(first_sentence(entry.abstract_zh), entry.paper, own))


def _paper_link(entry: PaperEntry, day: WeekDay) -> str:
    title = escape_text(entry.paper.title) or escape_text(entry.paper.versioned_id)
    return f"[{title}]({day.url}#{paper_anchor(entry.paper.arxiv_id)})"


def _glance_lines(entry: PaperEntry, language: str) -> str:
    words = labels_for(language)
    lines = ""
    if entry.venues:
        lines += "- **Venue**: " + " · ".join(words.venue_status[v.status].format(venue=escape_text(v.name))
                                              for v in entry.venues) + "\n"
    for label, urls in (("Code", entry.code_links), ("Demo", entry.demo_links)):
        if urls:
            lines += f"- **{label}**: " + " · ".join(f"[{escape_text(u)}]({u})" for u in urls) + "\n"
    return lines


def _front_matter(week: WeekDigest) -> str:
    for tag in week.tags:
        if not _TAG.match(tag):
            raise UsageError(f"invalid tag {tag!r} for the weekly post")
    title = week.title.replace("\\", "\\\\").replace('"', '\\"')
    return f'---\nlayout: post\ntitle: "{title}"\ntags: [{", ".join(week.tags)}]\n---\n\n'


def _category_order(week: WeekDigest, found: Sequence[str]) -> list[str]:
    own = [c for c in week.categories if c in found]
    return own + sorted(c for c in found if c not in own)


def render_weekly(week: WeekDigest) -> str:
    """The weekly post: front matter, the week in one line, 为你推荐, then every paper by primary category."""
    words = weekly_labels_for(week.language)
    day_links = words.day_separator.join(f"[{d.date.isoformat()}]({d.url})" for d in week.days)
    parts = [_front_matter(week),
             words.intro.format(start=week.monday.isoformat(), end=week.sunday.isoformat(), papers=week.paper_count,
                                days=len(week.days), day_links=day_links) + "\n"]
    if week.overview:
        parts.append(f"\n{words.overview_heading}\n\n{escape_text(week.overview)}\n")
    marked = [(e, d) for d in week.days for e in d.entries if e.interest_terms]
    if marked:
        marked.sort(key=lambda ed: -(ed[0].relevance_score or 0.0))  # stable: ties keep the week's order
        lines = [words.for_you_line.format(link=_paper_link(e, d),
                                           terms=" · ".join(escape_text(t) for t in e.interest_terms))
                 for e, d in marked]
        parts.append(f"\n{words.for_you_heading}\n\n" + "\n".join(lines) + "\n")
    groups: dict[str, list[tuple[PaperEntry, WeekDay]]] = {}
    for day in week.days:
        for entry in day.entries:
            groups.setdefault(entry.paper.primary_category or "?", []).append((entry, day))
    for category in _category_order(week, list(groups)):
        members = groups[category]
        parts.append("\n" + words.category_heading.format(category=escape_text(category), n=len(members)) + "\n")
        for entry, day in members:
            sentence = _abstract_sentence(entry, week.language)
            parts.append(f"\n### {_paper_link(entry, day)}\n{_glance_lines(entry, week.language)}"
                         + (f"\n{sentence}\n" if sentence else ""))
    return "".join(parts)


# ---------------------------------------------------------------------------- the optional overview

OVERVIEW_MAX_CHARS = 200
_CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def overview_messages(week: WeekDigest) -> list[dict[str, str]]:
    """The one request of the 本周概览: each paper's title and first English sentence (untrusted text: no
    tag of theirs can close ``<papers>``)."""
    lines = "\n".join(f"- {' '.join(e.paper.title.split())} — {first_sentence(e.paper.abstract)}".replace("<", "＜")
                      for d in week.days for e in d.entries)
    values = {**language_values(week.language), "week": week_label(week.monday), "count": str(week.paper_count),
              "papers": lines, "max_chars": str(OVERVIEW_MAX_CHARS)}
    return [{"role": "system", "content": render_prompt("weekly.system", **values)},
            {"role": "user", "content": render_prompt("weekly.user", **values)}]


def clean_overview(text: str) -> str:
    """One plain paragraph: the model's Markdown structure removed, white space collapsed."""
    flat = " ".join(clean_answer_markdown(text or "").split())
    return re.sub(r"^(?:[-*+]\s+|\*\*|#+\s*)", "", flat).replace("**", "").strip()


def week_overview(cfg: Config, store: Store, week: WeekDigest) -> tuple[str, str]:
    """(the 本周概览, "") from one LLM call (cached in the store, so asking again costs nothing), or
    ("", why it is missing): no endpoint, the call failed, or an answer not in the output language."""
    if not cfg.llm.configured:
        return "", "no LLM endpoint configured (OPENAI_BASE_URL / OPENAI_API_KEY)"

    def usable(completion: Completion) -> bool:
        text = clean_overview(completion.content)
        return bool(text) and (week.language == "en" or bool(_CJK.search(text)))

    try:
        with LLMClient(cfg.llm, store, env=cfg.environ, day=week_label(week.monday)) as client:
            answer = client.complete("weekly", overview_messages(week), max_tokens=800,
                                     prompt_version=PROMPT_VERSION["weekly"], accept=usable)
    except LLMError as exc:
        return "", f"the LLM call failed: {exc.message}"
    if not usable(answer):
        return "", "the model's answer was empty or not in the output language"
    text = clean_overview(answer.content)
    limit = OVERVIEW_MAX_CHARS * 2  # the prompt asks for the limit; a longer answer is cut, marked
    return (text if len(text) <= limit else text[:limit - 1].rstrip() + "…"), ""


@dataclass(frozen=True)
class WeeklyResult:
    path: Path  # the post written last (the site's when a site was given)
    week: WeekDigest
    changed: bool  # its text differs from what was there
    overview_problem: str = ""  # weekly.overview was asked for and is missing: why (the post has none)


def write_weekly(week: str, load: Callable[[dt.date], Config], site: Path | None = None, *,
                 push: bool = False) -> WeeklyResult:
    """Write the week's post into ``<out>/weekly/`` and, with ``site``, into ``SITE/_posts/`` (committed
    when the site is a git repository); with ``weekly.overview`` first ask for its 本周概览."""
    if site is not None and not site.is_dir():
        raise UsageError(f"Jekyll site folder not found: {site}")
    if push and site is None:
        raise UsageError("--push needs --site")
    permalink, baseurl = site_url_settings(site)
    cfg = load(parse_week(week)[0])
    if not cfg.store_path.is_file():
        raise DigestError(f"nothing is stored in {cfg.out_dir}: run `digest run` for the days of {week} first")
    with Store(cfg.store_path) as store:
        digest = read_week(week, store, load,
                           lambda day: jekyll_post_url(day.date, day.post_slug, permalink, baseurl))
        cfg = load(digest.monday)
        problem = ""
        if cfg.weekly.overview:
            overview, problem = week_overview(cfg, store, digest)
            digest = replace(digest, overview=overview)
    name = weekly_post_name(cfg, digest.monday)
    text = render_weekly(digest)
    local = cfg.out_dir / "weekly" / name
    changed = not local.is_file() or local.read_text(encoding="utf-8") != text
    local.parent.mkdir(parents=True, exist_ok=True)
    if changed:
        atomic_write_text(local, text)
    if site is None:
        return WeeklyResult(local, digest, changed, problem)
    before = (site / "_posts" / name).read_text(encoding="utf-8") if (site / "_posts" / name).is_file() else None
    posted = write_post(site, name, text, push=push,
                        message=f"arXiv weekly {week_label(digest.monday)} ({', '.join(cfg.categories)}): "
                                f"{digest.paper_count} papers")
    return WeeklyResult(posted.path, digest, before != text, problem)
