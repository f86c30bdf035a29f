"""The words a post shows, per output language (``language: zh | en | ja``): one small table each.

Owns: :class:`PostLabels` (every label, note and header line of the post; ``str.format`` templates where a
value is filled in) and :func:`labels_for`. The Chinese table is the seed's wording, byte for byte
(tests/test_render.py); English and Japanese say the same things. Must not: escape, render or decide which
label a paper gets (render.py does), or hold the review UI's words (review/ keeps its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import FailureCause, PendingReason, VenueStatus


@dataclass(frozen=True)
class PostLabels:
    """The post's words in one language."""

    # header (values: date, tz_label, zone, holds / anchor, start, end / fetched, shown)
    header_intro: str
    header_window: str
    header_counts: str
    holds_all: str  # every abstract shown is in the output language
    holds_none: str  # none is (offline, or every translation failed): {n} unused
    holds_some: str  # {n} are not
    zone_names: dict[str, str]  # calendar's Chinese zone name -> this language's ("北京时间" -> "Beijing time")
    bib: str
    mark: str  # the interests line, after ★
    details_summary: str  # the <summary> of each paper's details block
    empty_day: str
    updates_heading: str
    updates_intro: str
    update_line: str  # {title} {id} {url} {version}
    no_announcement: str  # {date} {categories} {why}; why is "" or the reason in brackets
    no_announcement_why: str  # {reason}
    weekend: str  # the reason on a Saturday or Sunday
    holiday: str  # the reason on an arXiv holiday
    category_separator: str
    # the abstract
    untranslated: str  # no endpoint: the English abstract follows
    translation_pending: str
    translation_failed: dict[str, str]  # FailureCause -> label
    missing_abstract: str
    # the details
    extractive: str
    abstract_only: str
    abstract_by_choice: str
    pending: dict[str, str]  # PendingReason -> note
    offline_interpretation: str
    failed: str
    failed_detail: str  # {detail}
    failure_causes: dict[str, str]  # FailureCause -> short cause shown in failed_detail
    missing_details: str
    unknown_authors: str
    venue_status: dict[str, str]  # VenueStatus -> "{venue}" with the status word (the Venue line, venue.py)


ZH = PostLabels(
    header_intro="以下为 {date}（{tz_label}，{zone}）窗口内更新的论文{holds}：",
    header_window="时间窗口（锚点 {anchor} {tz_label}）：{start} — {end}",
    header_counts="抓取总数：{fetched} 篇 | 本页显示：{shown} 篇（去重/过滤后）",
    holds_all="中文译文",
    holds_none="（摘要未翻译，为英文原文）",
    holds_some="中文译文（其中 {n} 篇摘要未翻译，为英文原文）",
    zone_names={},
    bib="BibTeX 引用",
    mark="关注",
    details_summary="详细解读",
    empty_day="本日无新论文。",
    updates_heading="## 更新",
    updates_intro="以下论文在本窗口内发布了新版本（仅列出，不重复解读）：",
    update_line="- {title}（[{id}]({url})，第 {version} 版）",
    no_announcement="arXiv 在 {date} 没有发布 {categories} 的新论文公告{why}。",
    no_announcement_why="（{reason}）",
    weekend="周末",
    holiday="arXiv 节假日",
    category_separator="、",
    untranslated="（未翻译：未配置 LLM 端点，以下为英文原文）",
    translation_pending="（译文尚未生成，以下为英文原文；将在下次运行时补全）",
    translation_failed={
        FailureCause.VALIDATION: "（译文未通过校验，以下为英文原文）",
        FailureCause.UNREACHABLE: "（翻译失败：无法连接 LLM 服务，以下为英文原文；将在下次运行时重试）",
        FailureCause.PROVIDER: "（翻译失败：LLM 服务返回错误，以下为英文原文；将在下次运行时重试）",
    },
    missing_abstract="（暂无摘要。）",
    extractive="（自动摘录，未经翻译）",
    abstract_only="（本解读仅依据摘要生成，全文暂不可得。）",
    abstract_by_choice="（本解读仅依据摘要生成：全文解读只用于最相关的论文。）",
    pending={
        PendingReason.FULLTEXT: "（全文尚未发布，解读将在 PDF 可用后补全。）",
        PendingReason.LLM: "（解读尚未生成，将在下次运行时补全。）",
        PendingReason.QUOTA: "（LLM 服务暂不可用（认证或额度问题），解读将在下次运行时补全。）",
        PendingReason.BUDGET: "（已达本日 LLM 预算，解读将在预算允许的下次运行时补全。）",
    },
    offline_interpretation="（未配置 LLM 端点，暂无详细解读。）",
    failed="（详细解读生成失败，将在下次运行时重试。）",
    failed_detail="（详细解读生成失败：{detail}。将在下次运行时重试。）",
    failure_causes={FailureCause.VALIDATION: "回答未通过校验", FailureCause.UNREACHABLE: "无法连接 LLM 服务",
                    FailureCause.PROVIDER: "LLM 服务返回错误"},
    missing_details="（暂无详细解读。）",
    unknown_authors="（作者未知）",
    venue_status={VenueStatus.ACCEPTED: "{venue}（已接收）", VenueStatus.SUBMITTED: "{venue}（投稿中）",
                  VenueStatus.NAMED: "{venue}"},
)

# English: the abstract is the paper's own (never "translated"), so the header names no translation.
EN = PostLabels(
    header_intro="Papers announced in the window of {date} ({tz_label}, {zone}){holds}:",
    header_window="Time window (anchor {anchor} {tz_label}): {start} — {end}",
    header_counts="Fetched: {fetched} papers | Shown: {shown} papers (after de-duplication and filters)",
    holds_all=", with their abstracts",
    holds_none=", with their abstracts",
    holds_some=", with their abstracts",
    zone_names={"北京时间": "Beijing time"},
    bib="BibTeX",
    mark="Following",
    details_summary="Detailed reading",
    empty_day="No new papers today.",
    updates_heading="## Updates",
    updates_intro="These papers got a new version in this window (listed only, not read again):",
    update_line="- {title} ([{id}]({url}), version {version})",
    no_announcement="arXiv made no announcement of new {categories} papers on {date}{why}.",
    no_announcement_why=" ({reason})",
    weekend="weekend",
    holiday="arXiv holiday",
    category_separator=", ",
    untranslated="(No LLM endpoint configured: the original abstract follows.)",
    translation_pending="(The abstract follows as written.)",
    translation_failed={cause: "(The abstract follows as written.)" for cause in FailureCause},
    missing_abstract="(No abstract.)",
    extractive="(Extracted automatically from the paper's own sentences.)",
    abstract_only="(This reading is based on the abstract only: the full text is not available yet.)",
    abstract_by_choice="(This reading is based on the abstract only: full texts are read for the most relevant "
                       "papers only.)",
    pending={
        PendingReason.FULLTEXT: "(The full text is not out yet; the reading follows once the PDF is available.)",
        PendingReason.LLM: "(Not written yet; the next run fills it in.)",
        PendingReason.QUOTA: "(The LLM service is unavailable for now (authentication or quota); the next run "
                             "fills it in.)",
        PendingReason.BUDGET: "(The day's LLM budget is spent; a later run within budget fills it in.)",
    },
    offline_interpretation="(No LLM endpoint configured: no detailed reading.)",
    failed="(The detailed reading failed; the next run tries again.)",
    failed_detail="(The detailed reading failed: {detail}. The next run tries again.)",
    failure_causes={FailureCause.VALIDATION: "the answer did not pass validation",
                    FailureCause.UNREACHABLE: "the LLM service could not be reached",
                    FailureCause.PROVIDER: "the LLM service returned an error"},
    missing_details="(No detailed reading yet.)",
    unknown_authors="(authors unknown)",
    venue_status={VenueStatus.ACCEPTED: "{venue} (accepted)", VenueStatus.SUBMITTED: "{venue} (submitted)",
                  VenueStatus.NAMED: "{venue}"},
)

JA = PostLabels(
    header_intro="以下は {date}（{tz_label}、{zone}）のウィンドウ内で更新された論文{holds}です：",
    header_window="時間ウィンドウ（基準 {anchor} {tz_label}）：{start} — {end}",
    header_counts="取得総数：{fetched} 件 | 本ページ表示：{shown} 件（重複除去・フィルタ後）",
    holds_all="と要旨の日本語訳",
    holds_none="（要旨は未翻訳、英語の原文）",
    holds_some="と要旨の日本語訳（うち {n} 件の要旨は未翻訳、英語の原文）",
    zone_names={"北京时间": "北京時間"},
    bib="BibTeX 引用",
    mark="注目",
    details_summary="詳細解説",
    empty_day="本日の新着論文はありません。",
    updates_heading="## 更新",
    updates_intro="以下の論文はこのウィンドウ内で新しい版が公開されました（一覧のみ、解説は繰り返しません）：",
    update_line="- {title}（[{id}]({url})、第 {version} 版）",
    no_announcement="arXiv は {date} に {categories} の新着論文を公開していません{why}。",
    no_announcement_why="（{reason}）",
    weekend="週末",
    holiday="arXiv の休日",
    category_separator="、",
    untranslated="（未翻訳：LLM エンドポイントが設定されていないため、以下は英語の原文です）",
    translation_pending="（翻訳はまだ生成されていません。以下は英語の原文です。次回の実行で補完されます）",
    translation_failed={
        FailureCause.VALIDATION: "（翻訳が検証を通過しなかったため、以下は英語の原文です）",
        FailureCause.UNREACHABLE: "（翻訳失敗：LLM サービスに接続できません。以下は英語の原文です。次回の実行で再試行します）",
        FailureCause.PROVIDER: "（翻訳失敗：LLM サービスがエラーを返しました。以下は英語の原文です。次回の実行で再試行します）",
    },
    missing_abstract="（要旨はありません。）",
    extractive="（自動抽出、未翻訳）",
    abstract_only="（この解説は要旨のみに基づいています。全文はまだ入手できません。）",
    abstract_by_choice="（この解説は要旨のみに基づいています。全文の解説は関連度の高い論文に限られます。）",
    pending={
        PendingReason.FULLTEXT: "（全文はまだ公開されていません。PDF の公開後に解説を補完します。）",
        PendingReason.LLM: "（解説はまだ生成されていません。次回の実行で補完します。）",
        PendingReason.QUOTA: "（LLM サービスが現在利用できません（認証またはクォータ）。次回の実行で補完します。）",
        PendingReason.BUDGET: "（本日の LLM 予算に達しました。予算内の次回の実行で補完します。）",
    },
    offline_interpretation="（LLM エンドポイントが設定されていないため、詳細解説はありません。）",
    failed="（詳細解説の生成に失敗しました。次回の実行で再試行します。）",
    failed_detail="（詳細解説の生成に失敗しました：{detail}。次回の実行で再試行します。）",
    failure_causes={FailureCause.VALIDATION: "回答が検証を通過しませんでした",
                    FailureCause.UNREACHABLE: "LLM サービスに接続できません",
                    FailureCause.PROVIDER: "LLM サービスがエラーを返しました"},
    missing_details="（詳細解説はまだありません。）",
    unknown_authors="（著者不明）",
    venue_status={VenueStatus.ACCEPTED: "{venue}（採択）", VenueStatus.SUBMITTED: "{venue}（投稿中）",
                  VenueStatus.NAMED: "{venue}"},
)

LABELS: dict[str, PostLabels] = {"zh": ZH, "en": EN, "ja": JA}


def labels_for(language: str) -> PostLabels:
    """The post's words for ``language`` (``zh``, ``en``, ``ja``; config.py validates the code)."""
    try:
        return LABELS[language]
    except KeyError:
        raise ValueError(f"no post labels for language {language!r}; one of {sorted(LABELS)}") from None


@dataclass(frozen=True)
class WeeklyLabels:
    """The weekly post's words in one language (weekly.py)."""

    intro: str  # {start} {end} {papers} {days} {day_links}
    day_separator: str
    for_you_heading: str
    for_you_line: str  # {link} {terms}
    category_heading: str  # {category} {n}
    english_marker: str  # before an abstract's first sentence shown untranslated
    overview_heading: str  # the optional LLM paragraph (weekly.overview)


WEEKLY_ZH = WeeklyLabels(
    intro="本周（{start} — {end}）共 {papers} 篇论文，来自 {days} 个公告日：{day_links}。",
    day_separator="、",
    for_you_heading="## ★ 为你推荐",
    for_you_line="- {link} — {terms}",
    category_heading="## {category}（{n} 篇）",
    english_marker="（英文原文）",
    overview_heading="## 本周概览",
)
WEEKLY_EN = WeeklyLabels(
    intro="This week ({start} — {end}): {papers} papers from {days} announcement days: {day_links}.",
    day_separator=", ",
    for_you_heading="## ★ For you",
    for_you_line="- {link} — {terms}",
    category_heading="## {category} ({n} papers)",
    english_marker="",
    overview_heading="## The week at a glance",
)
WEEKLY_JA = WeeklyLabels(
    intro="今週（{start} — {end}）は {days} 回の公開日に計 {papers} 件の論文：{day_links}。",
    day_separator="、",
    for_you_heading="## ★ あなたへのおすすめ",
    for_you_line="- {link} — {terms}",
    category_heading="## {category}（{n} 件）",
    english_marker="（英語の原文）",
    overview_heading="## 今週の概要",
)
WEEKLY_LABELS: dict[str, WeeklyLabels] = {"zh": WEEKLY_ZH, "en": WEEKLY_EN, "ja": WEEKLY_JA}


def weekly_labels_for(language: str) -> WeeklyLabels:
    """The weekly post's words for ``language`` (``zh``, ``en``, ``ja``)."""
    try:
        return WEEKLY_LABELS[language]
    except KeyError:
        raise ValueError(f"no weekly labels for language {language!r}; one of {sorted(WEEKLY_LABELS)}") from None
