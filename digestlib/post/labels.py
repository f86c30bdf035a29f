"""The words a post shows, per output language (``language: zh | en | ja``): one small table each.

Owns: :class:`PostLabels` (every label, note and header line of the post; ``str.format`` templates where a
value is filled in) and :func:`labels_for`. The Chinese table is the seed's wording, byte for byte
(tests/test_render.py); English and Japanese say the same things. Must not: escape, render or decide which
label a paper gets (render.py does), or hold the review UI's words (review/ keeps its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..base.models import FailureCause, PendingReason, VenueStatus


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
    holds_reviewer: str  # {r} were translated by the reviewer (the rest by the model)
    holds_reviewer_some: str  # {r} by the reviewer, {n} not translated
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
    # "\\|": kramdown reads a line with a bare "|" as a table row (issue 24); the one byte that departs from the seed
    header_counts="抓取总数：{fetched} 篇 \\| 本页显示：{shown} 篇（去重/过滤后）",
    holds_all="中文译文",
    holds_none="（摘要未翻译，为英文原文）",
    holds_some="中文译文（其中 {n} 篇摘要未翻译，为英文原文）",
    holds_reviewer="中文译文（其中 {r} 篇摘要由审稿人翻译）",
    holds_reviewer_some="中文译文（其中 {r} 篇摘要由审稿人翻译，{n} 篇摘要未翻译，为英文原文）",
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
    header_counts="Fetched: {fetched} papers \\| Shown: {shown} papers (after de-duplication and filters)",
    holds_all=", with their abstracts",
    holds_none=", with their abstracts",
    holds_some=", with their abstracts",
    holds_reviewer=", with their abstracts",
    holds_reviewer_some=", with their abstracts",
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
    header_counts="取得総数：{fetched} 件 \\| 本ページ表示：{shown} 件（重複除去・フィルタ後）",
    holds_all="と要旨の日本語訳",
    holds_none="（要旨は未翻訳、英語の原文）",
    holds_some="と要旨の日本語訳（うち {n} 件の要旨は未翻訳、英語の原文）",
    holds_reviewer="と要旨の日本語訳（うち {r} 件の要旨はレビュアーによる翻訳）",
    holds_reviewer_some="と要旨の日本語訳（うち {r} 件の要旨はレビュアーによる翻訳、{n} 件の要旨は未翻訳、英語の原文）",
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


@dataclass(frozen=True)
class ReportLabels:
    """The report page's words in one language (issue 24: the report is read beside the post, in its
    language). ``str.format`` templates where a value is filled in."""

    title: str  # {date}
    summary: str
    run_line: str  # {papers} {translated} {interpreted} {pending_pdf} {failed} {calls} {tokens} {cost} {seconds}
    no_run_line: str  # publish or review before any summary was kept
    review_line: str  # {approved} {rejected} {pending} {shown}
    notes: str
    numbers: str
    item: str
    value: str
    rows: dict[str, str]  # number key -> row label
    cost_none_priced: str  # calls made with a model that has no price
    cost_partial: str  # {cost}: some models have no price
    seconds: str  # {seconds}
    llm_time: str  # {task}
    usage: str
    usage_columns: dict[str, str]  # usage key -> column header
    total: str
    charts: str
    chart_titles: dict[str, str]  # category, status, tokens, seconds
    chart_alt: str  # {title}: {values}
    chart_empty: str  # {title}
    no_calls: str  # no token or time chart: nothing was asked of the model
    statuses: dict[str, str]  # review and task status values -> words
    papers: str
    paper_columns: tuple[str, ...]
    failures: str
    failure_columns: tuple[str, str, str]
    post: str


REPORT_ZH = ReportLabels(
    title="arXiv 每日摘要 {date}：报告", summary="概要",
    run_line="{papers} 篇论文：已翻译 {translated} 篇，已解读 {interpreted} 篇，{pending_pdf} 篇等待 PDF，"
             "{failed} 篇失败；LLM 调用 {calls} 次，{tokens} 个 token，费用 {cost}，用时 {seconds} 秒。",
    no_run_line="（没有保存的运行概要：本报告来自存储的数据。）",
    review_line="审阅：已通过 {approved} 篇，已拒绝 {rejected} 篇，待审 {pending} 篇；帖子显示 {shown} 篇。",
    notes="说明", numbers="数字", item="项目", value="数值",
    rows={"announced": "公告论文（新投稿 + 交叉列表）", "selected": "本帖入选", "shown": "帖子显示",
          "approved": "已通过", "rejected": "已拒绝", "pending": "待审", "failed_tasks": "失败的任务",
          "calls": "LLM 调用（其中缓存命中）", "failed_calls": "LLM 调用失败（无可用回答）",
          "tokens": "token（输入 / 输出）", "cost": "费用", "pdf_engines": "各 PDF 引擎读取的 PDF"},
    cost_none_priced="未知：所用模型没有配置价格", cost_partial="{cost}（部分模型没有配置价格）",
    seconds="{seconds} 秒", llm_time="LLM 用时：{task}",
    usage="LLM 用量与费用",
    usage_columns={"task": "任务", "model": "模型", "calls": "调用", "cached_calls": "缓存命中",
                   "failed_calls": "失败", "prompt_tokens": "输入 token", "completion_tokens": "输出 token",
                   "cost_usd": "费用（美元）"},
    total="合计", charts="图表",
    chart_titles={"category": "各主分类的论文数", "status": "各审阅状态的论文数", "tokens": "各阶段的 token 数",
                  "seconds": "各阶段的 LLM 用时（秒）"},
    chart_alt="柱状图，{title}：{values}", chart_empty="{title}：无",
    no_calls="本日没有调用 LLM，因此没有 token 与用时图表。",
    statuses={"pending": "待审", "approved": "已通过", "rejected": "已拒绝", "done": "完成", "failed": "失败",
              "offline": "离线", "translate": "翻译", "interpret": "解读", "none": "无"},
    papers="论文", paper_columns=("arXiv", "标题", "分类", "翻译", "解读", "审阅", "会议/期刊", "代码 / 演示"),
    failures="失败的任务", failure_columns=("论文", "任务", "原因"), post="帖子",
)

REPORT_EN = ReportLabels(
    title="arXiv daily digest {date}: report", summary="Summary",
    run_line="{papers} papers: {translated} translated, {interpreted} interpreted, {pending_pdf} waiting for the "
             "PDF, {failed} failed; {calls} LLM calls, {tokens} tokens, cost {cost}, {seconds} s.",
    no_run_line="(No run summary was kept: this report is built from the stored data.)",
    review_line="Review: {approved} approved, {rejected} rejected, {pending} pending; the post shows {shown}.",
    notes="Notes", numbers="Numbers", item="Item", value="Value",
    rows={"announced": "Announced (new + cross-lists)", "selected": "In this post's selection",
          "shown": "Shown in the post", "approved": "Approved", "rejected": "Rejected", "pending": "Pending review",
          "failed_tasks": "Failed tasks", "calls": "LLM calls (cache hits)",
          "failed_calls": "LLM calls failed (no usable answer)", "tokens": "Tokens in / out", "cost": "Cost",
           "pdf_engines": "PDFs read, per engine"},
    cost_none_priced="unknown: the model used has no price configured",
    cost_partial="{cost} (some models have no price configured)",
    seconds="{seconds} s", llm_time="LLM time: {task}",
    usage="LLM usage and cost",
    usage_columns={"task": "Task", "model": "Model", "calls": "Calls", "cached_calls": "Cache hits",
                   "failed_calls": "Failed", "prompt_tokens": "Tokens in", "completion_tokens": "Tokens out",
                   "cost_usd": "Cost (USD)"},
    total="Total", charts="Charts",
    chart_titles={"category": "Papers per primary category", "status": "Papers per review status",
                  "tokens": "Tokens per stage", "seconds": "LLM seconds per stage"},
    chart_alt="Bar chart, {title}: {values}", chart_empty="{title}: none",
    no_calls="No LLM call was made for this day, so there is no token or time chart.",
    statuses={"pending": "pending", "approved": "approved", "rejected": "rejected", "done": "done",
              "failed": "failed", "offline": "offline", "translate": "translation", "interpret": "interpretation",
               "none": "none"},
    papers="Papers", paper_columns=("arXiv", "Title", "Categories", "Translation", "Interpretation", "Review", "Venue",
                                      "Code / demo"),
    failures="Failed tasks", failure_columns=("Paper", "Task", "Cause"), post="The post",
)

REPORT_JA = ReportLabels(
    title="arXiv デイリーダイジェスト {date}：レポート", summary="概要",
    run_line="論文 {papers} 件：翻訳 {translated} 件、解説 {interpreted} 件、PDF 待ち {pending_pdf} 件、"
             "失敗 {failed} 件。LLM 呼び出し {calls} 回、{tokens} トークン、費用 {cost}、所要 {seconds} 秒。",
    no_run_line="（保存された実行概要はありません：このレポートは保存データから作成されています。）",
    review_line="レビュー：承認 {approved} 件、却下 {rejected} 件、未レビュー {pending} 件。投稿の表示は {shown} 件。",
    notes="注記", numbers="数値", item="項目", value="値",
    rows={"announced": "公開論文（新規 + クロスリスト）", "selected": "この投稿の選定", "shown": "投稿に表示",
          "approved": "承認", "rejected": "却下", "pending": "未レビュー", "failed_tasks": "失敗したタスク",
          "calls": "LLM 呼び出し（キャッシュヒット）", "failed_calls": "失敗した LLM 呼び出し（有効な回答なし）",
          "tokens": "トークン（入力 / 出力）", "cost": "費用", "pdf_engines": "PDF エンジンごとの読み取り数"},
    cost_none_priced="不明：使用モデルの価格が設定されていません", cost_partial="{cost}（一部のモデルは価格未設定）",
    seconds="{seconds} 秒", llm_time="LLM 所要時間：{task}",
    usage="LLM の使用量と費用",
    usage_columns={"task": "タスク", "model": "モデル", "calls": "呼び出し", "cached_calls": "キャッシュヒット",
                   "failed_calls": "失敗", "prompt_tokens": "入力トークン", "completion_tokens": "出力トークン",
                   "cost_usd": "費用（USD）"},
    total="合計", charts="グラフ",
    chart_titles={"category": "主分類ごとの論文数", "status": "レビュー状態ごとの論文数",
                  "tokens": "段階ごとのトークン数", "seconds": "段階ごとの LLM 所要時間（秒）"},
    chart_alt="棒グラフ、{title}：{values}", chart_empty="{title}：なし",
    no_calls="この日は LLM を呼び出していないため、トークンと所要時間のグラフはありません。",
    statuses={"pending": "未レビュー", "approved": "承認", "rejected": "却下", "done": "完了", "failed": "失敗",
              "offline": "オフライン", "translate": "翻訳", "interpret": "解説", "none": "なし"},
    papers="論文", paper_columns=("arXiv", "タイトル", "分類", "翻訳", "解説", "レビュー", "会議・論文誌", "コード / デモ"),
    failures="失敗したタスク", failure_columns=("論文", "タスク", "原因"), post="投稿",
)

REPORT_LABELS: dict[str, ReportLabels] = {"zh": REPORT_ZH, "en": REPORT_EN, "ja": REPORT_JA}


def report_labels_for(language: str) -> ReportLabels:
    """The report's words for ``language`` (as :func:`labels_for`)."""
    try:
        return REPORT_LABELS[language]
    except KeyError:
        raise ValueError(f"no report labels for language {language!r}; one of {sorted(REPORT_LABELS)}") from None
