"""The human gate without a browser: review widgets over a real store (set values, click, assert the
store), the publish gate (pending refused with exit 5, rejected left out, edits applied, the run lock),
and the report page built from the store."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from digestlib.app import cli
from digestlib.base.locks import run_lock
from digestlib.base.config import build_config
from digestlib.base.errors import EXIT_REVIEW_PENDING, ReviewPendingError, RunLockedError
from digestlib.base.models import AnnounceType, Interpretation, Paper, ResultStatus, ReviewStatus
from digestlib.app.publish import publish_day
from digestlib.app.reviewed import reviewed_digest
from digestlib.post.render import interpretation_markdown, render_post
from digestlib.review import ReviewApp
from digestlib.store.store import MIGRATIONS, Store

DATE = dt.date(2026, 1, 22)
IDS = ["2601.00003", "2601.00002", "2601.00001"]  # the post's order (newest id first)
# Shaped like a provider key so that redaction must catch it; built at run time so no key-like literal is tracked.
KEY_SHAPED = "sk-" + "redaction-canary-" + "0" * 8


def _paper(i: str) -> Paper:
    return Paper(i, 1, f"Title {i}", ("A. Author",), ("cs.SD", "eess.AS"), f"English abstract of {i} with 42 items.",
                 announce_type=AnnounceType.NEW)


@pytest.fixture
def cfg(tmp_path: Path):
    cfg = build_config(date=DATE, out_dir=tmp_path / "out", params={}, env={})
    with Store(cfg.store_path) as store:
        store.save_announcement(DATE, [_paper(i) for i in IDS], "rss")
        for i in IDS:
            store.claim(DATE, i, 1)
            store.save_result(i, 1, "translate", ResultStatus.DONE, content={"text": f"译文 {i}，共 42 项。"})
            store.save_result(i, 1, "interpret", ResultStatus.DONE,
                              content={"background": "背景。", "method": "方法。", "results": "结果。", "source": "fulltext"},
                              unverified=("99.9",) if i == IDS[2] else ())
    return cfg


def _app(cfg) -> ReviewApp:
    return ReviewApp(cfg, reviewer="tester", page_size=2)


def test_edit_is_stored_at_once_and_undo_is_an_edit(cfg) -> None:
    app = _app(cfg)
    card = app.cards[IDS[0]]
    original = card.abstract.value
    card.abstract.value = "改过的译文"
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[0], 1) == {"abstract_zh": "改过的译文"}
    card.abstract.value = original  # the undo
    with Store(cfg.store_path) as store:
        record = store.edit_records(IDS[0], 1)["abstract_zh"]
    assert record.value == original and record.editor == "tester" and record.base == original
    assert _reviewed(cfg).entries[0].abstract_zh == original


def test_decisions_counts_filter_paging(cfg) -> None:
    app = _app(cfg)
    assert "data-pending='3'" in app.counts.value and "data-flagged='1'" in app.counts.value
    assert len(app.cards_box.children) == 2 and app.next.disabled is False  # page 1 of 2
    app.next.click()
    assert len(app.cards_box.children) == 1
    app.cards[IDS[0]].approve.click()
    app.cards[IDS[1]].reject.click()
    assert "data-approved='1'" in app.counts.value and "data-rejected='1'" in app.counts.value
    with Store(cfg.store_path) as store:
        reviews = store.reviews(DATE)
    assert reviews[IDS[0]].status is ReviewStatus.APPROVED and reviews[IDS[0]].reviewer == "tester"
    assert reviews[IDS[1]].status is ReviewStatus.REJECTED and reviews[IDS[0]].decided_at
    app.filter.value = "flagged"
    assert [c for c in app.cards_box.children] == [app.cards[IDS[2]].box]
    assert "99.9" in app.cards[IDS[2]].flags.value
    app.cards[IDS[1]].reset.click()
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[1]].status is ReviewStatus.PENDING
    assert app.approve_unflagged() == 1  # the flagged paper stays pending
    assert "data-pending='1'" in app.counts.value


def test_a_new_model_output_is_kept_beside_the_edit(cfg) -> None:
    app = _app(cfg)
    app.cards[IDS[0]].details.value = "我的解读"
    with Store(cfg.store_path) as store:  # a later run (or a regeneration) writes new output
        store.save_result(IDS[0], 1, "interpret", ResultStatus.DONE,
                          content={"background": "新背景。", "method": "新方法。", "results": "新结果。"}, regenerate=True)
    app = _app(cfg)
    item = app.session.get(IDS[0])
    assert item.text("details_md") == "我的解读" and item.newer_output("details_md")
    assert "新背景" in app.cards[IDS[0]].newer.value
    assert _reviewed(cfg).entries[0].details_md == "我的解读"  # the edit wins until taken
    app.cards[IDS[0]].take_details.click()
    assert app.cards[IDS[0]].details.value == interpretation_markdown(Interpretation("新背景。", "新方法。", "新结果。"))


def test_bibtex_button_shows_the_papers_entry(cfg) -> None:
    """Issue 16: a BibTeX button on each card shows the entry of the day's .bib (copyable), and hides it."""
    import html
    import re

    import bibtexparser

    from digestlib.post.bibtex import entry_for

    card = _app(cfg).cards[IDS[0]]
    assert card.bibtex_entry.layout.display == "none" and "digest-bibtex" in card.bibtex._dom_classes
    card.bibtex.click()
    assert card.bibtex_entry.layout.display == "" and card.bibtex.description == "Hide BibTeX"
    shown = html.unescape(re.sub(r"<[^>]+>", "", card.bibtex_entry.value))
    assert shown == entry_for(_paper(IDS[0])) and "user-select:all" in card.bibtex_entry.value
    (entry,) = bibtexparser.parse_string(shown).entries
    assert entry.fields_dict["eprint"].value == IDS[0] and entry.fields_dict["archivePrefix"].value == "arXiv"
    card.bibtex.click()
    assert card.bibtex_entry.layout.display == "none" and card.bibtex.description == "BibTeX"


@pytest.mark.integration
def test_publish_gate(cfg, tmp_path: Path) -> None:
    with pytest.raises(ReviewPendingError, match=r"^3 papers of 2026-01-22 still await review") as info:
        publish_day(cfg)
    assert info.value.exit_code == EXIT_REVIEW_PENDING == 5
    assert not (cfg.day_dir / cfg.post_name).exists()
    app = _app(cfg)
    app.cards[IDS[0]].abstract.value = "审稿人改过的译文"
    app.cards[IDS[0]].approve.click()
    app.cards[IDS[1]].reject.click()
    app.cards[IDS[2]].approve.click()
    with run_lock(cfg.out_dir, 0):  # a run holds the folder: refused
        with pytest.raises(RunLockedError):
            publish_day(cfg)
    site = tmp_path / "site"
    site.mkdir()
    (site / "_config.yml").write_text("title: test\n", encoding="utf-8")
    path = publish_day(cfg, site)
    post = path.read_text(encoding="utf-8")
    assert path == site / "_posts" / cfg.post_name
    assert "审稿人改过的译文" in post and f"Title {IDS[1]}" not in post and f"Title {IDS[0]}" in post
    assert "抓取总数：3 篇 \\| 本页显示：2 篇" in post
    assert "published: false" not in post  # the run's draft marker: the published post has none
    assert (cfg.day_dir / cfg.post_name).read_text(encoding="utf-8") == post
    report = (cfg.day_dir / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in report and "digest-papers" in report and "<script" not in report
    # issue 24: no call made, so nothing spent: a cost of 0, not "no price configured"
    assert "$0.0000" in report and "no price configured" not in report and "NaN" not in report


def test_publish_without_required_review_skips_only_rejected(cfg, tmp_path: Path) -> None:
    cfg2 = build_config(date=DATE, out_dir=cfg.out_dir, params={"publish": {"require_review": False}}, env={})
    with Store(cfg.store_path) as store:
        store.set_review(DATE, IDS[2], 1, ReviewStatus.REJECTED)
    post = publish_day(cfg2).read_text(encoding="utf-8")
    assert f"Title {IDS[2]}" not in post and f"Title {IDS[0]}" in post and f"Title {IDS[1]}" in post


def test_cli_publish_refused_is_one_line_exit_5(cfg, capsys) -> None:
    code = cli.main(["publish", "--date", str(DATE), "--out", str(cfg.out_dir), "--params",
                     str(Path(__file__).resolve().parents[1] / "parameters" / "cs.SD+eess.AS.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 5 and len(err) == 1 and "3 papers" in err[0]


def test_failed_llm_calls_are_in_the_usage_table_and_the_report(cfg, tmp_path: Path) -> None:
    """Issue 11: calls that got no usable answer are accounted (status, cause) and shown, even for a task
    whose every call failed; the causes are redacted."""
    from digestlib.post import report

    with Store(cfg.store_path) as store:
        store.record_call(day=str(DATE), task="translate", model="m", prompt_tokens=10, completion_tokens=5,
                          cached=False, seconds=1.0)
        store.record_failed_call(day=str(DATE), task="translate", model="m", status="HTTP 429",
                                 cause="Rate limit reached", seconds=0.5)
        for _ in range(2):
            store.record_failed_call(day=str(DATE), task="interpret", model="m", status="timeout",
                                     cause=f"no answer within 5 s, key {KEY_SHAPED}", seconds=5.0)
        assert sum(r["calls"] - r["cached_calls"] for r in store.usage_rows()) == 1  # the answers: the failures are counted apart
    with Store(cfg.store_path) as store:
        view = report.read_day(cfg, store)
    table = report.usage_display(view.usage).set_index("task")
    assert table.loc["translate", "calls"] == 1 and table.loc["translate", "failed_calls"] == 1
    assert table.loc["interpret", "calls"] == 0 and table.loc["interpret", "failed_calls"] == 2
    assert table.loc["total", "failed_calls"] == 3
    failed = report.failed_calls_table(view.failed_calls)
    assert failed.to_dict("records") == [
        {"task": "interpret", "model": "m", "status": "timeout", "calls": 2, "cause": failed.loc[0, "cause"]},
        {"task": "translate", "model": "m", "status": "HTTP 429", "calls": 1, "cause": "Rate limit reached"}]
    assert KEY_SHAPED not in failed.loc[0, "cause"]
    report.write_report(view, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "digest-failed-calls" in page and "Rate limit reached" in page
    assert "LLM 调用失败（无可用回答）" in page  # the report speaks the output language


def test_run_post_respects_rejections(cfg) -> None:
    from digestlib.day.selection import stored_selection
    from digestlib.post.digest import build_digest

    with Store(cfg.store_path) as store:
        store.set_review(DATE, IDS[1], 1, ReviewStatus.REJECTED)
        day = build_digest(cfg, store, stored_selection(cfg, store))
    assert [e.paper.arxiv_id for e in day.entries] == [IDS[0], IDS[2]]
    assert "本页显示：2 篇" in render_post(day)


def test_migration_from_approvals_applies_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Store(path) as store:
        pass
    db = sqlite3.connect(path)  # an old store: no migrations yet, an approval in the old table
    db.execute("DROP TABLE reviews")
    db.execute("DELETE FROM schema_migrations WHERE name='review-states'")
    db.execute("CREATE TABLE edits2 AS SELECT arxiv_id, version, field, value, updated_at FROM edits")
    db.execute("DROP TABLE edits")
    db.execute("ALTER TABLE edits2 RENAME TO edits")
    db.execute("INSERT INTO approvals VALUES ('2026-01-22', '2601.00001', 0, '2026-01-22T00:00:00')")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.reviews(DATE)["2601.00001"].status is ReviewStatus.REJECTED
    with Store(path):  # reopening applies nothing twice
        pass
    with closing(sqlite3.connect(path)) as db:
        names = [r[0] for r in db.execute("SELECT name FROM schema_migrations")]
    assert sorted(names) == sorted(name for name, _ in MIGRATIONS)


PARAMS = str(Path(__file__).resolve().parents[1] / "parameters" / "cs.SD+eess.AS.yaml")


@pytest.mark.integration
def test_review_command_says_when_root_needs_the_flag_or_the_port_is_taken(cfg, capsys, monkeypatch) -> None:
    import socket

    import digestlib.review.launch as launch

    monkeypatch.setattr(launch.os, "geteuid", lambda: 0)
    base = ["review", "--date", str(DATE), "--out", str(cfg.out_dir), "--params", PARAMS]
    assert cli.main(base) == 2
    assert "pass --allow-root" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main([*base, "--allow-root", "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"digest: error: port {port} on 127.0.0.1 is already in use: pass --port with a free port"


def test_review_url_lands_on_the_days_notebook(cfg) -> None:
    from digestlib.review.launch import lab_command

    notebook = cfg.day_dir / "review.ipynb"
    command, url = lab_command(cfg, notebook, port=8899, token="t0k", allow_root=True)
    assert url == "http://127.0.0.1:8899/lab/tree/2026-01-22/review.ipynb?token=t0k"
    assert "--ServerApp.ip=127.0.0.1" in command and "--allow-root" in command
    assert "--ServerApp.default_url=/lab/tree/2026-01-22/review.ipynb" in command
    assert f"--LabApp.app_settings_dir={cfg.out_dir / '.jupyterlab' / 'settings'}" in command


def test_review_session_asks_no_news_question_and_names_the_installed_kernel(cfg) -> None:
    """JupyterLab's "official Jupyter news?" toast and update check are turned off by the session's
    overrides.json; the notebook's metadata names the installed python3 kernel (no "Select Kernel")."""
    import json

    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager

    from digestlib.review.launch import REVIEW_NOTEBOOK, stamp_kernelspec, write_lab_settings

    overrides = json.loads((write_lab_settings(cfg) / "overrides.json").read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    # autosave every few seconds: the saved outputs name the live kernel's widgets, for a page reload
    assert overrides["@jupyterlab/docmanager-extension:plugin"] == {"autosave": True, "autosaveInterval": 5}
    notebook = cfg.day_dir / "review.ipynb"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    notebook.write_text(REVIEW_NOTEBOOK.read_text(encoding="utf-8"), encoding="utf-8")
    stamp_kernelspec(notebook)
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert nbformat.read(notebook, as_version=4).metadata.kernelspec == {
        "name": "python3", "display_name": spec.display_name, "language": "python"}


@pytest.mark.integration
def test_regenerate_asks_again_with_the_instruction_and_keeps_the_edit(cfg, fake_openai) -> None:
    cfg = build_config(date=DATE, out_dir=cfg.out_dir, params={"llm": {"model": "fake-model"}},
                       env={"OPENAI_BASE_URL": fake_openai.url})
    app = _app(cfg)
    card = app.cards[IDS[0]]
    card.abstract.value = "我改过的译文"
    card.instruction.value = "术语保留英文"
    card.regen_translation.click()
    app.wait_for_jobs()
    assert "data-done='translate'" in card.progress.value and "failed" not in card.progress.value
    calls = [e for e in fake_openai.log() if e["kind"] == "translate"]
    assert len(calls) == 1 and "术语保留英文" in calls[0]["last_user"]
    item = app.session.get(IDS[0])
    assert item.text("abstract_zh") == "我改过的译文" and item.newer_output("abstract_zh")
    assert item.generated["abstract_zh"].startswith("【译】测试译文")
    card.regen_translation.click()  # again: past the cache, a second real call
    app.wait_for_jobs()
    assert len([e for e in fake_openai.log() if e["kind"] == "translate"]) == 2


# -- issue 24: edits that cannot be lost ------------------------------------------------------------
def test_each_field_has_its_own_undo_and_redo(cfg) -> None:
    app = _app(cfg)
    first, second = app.cards[IDS[0]], app.cards[IDS[1]]
    first_original, second_original = first.abstract.value, second.abstract.value
    first.abstract.value = "第一张卡的改动"
    second.abstract.value = "第二张卡 一"
    second.abstract.value = "第二张卡 二"
    for _ in range(5):  # more undos than the second field has: never reaches the first card
        second.step("abstract_zh", "undo")
    assert second.abstract.value == second_original
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[0], 1)["abstract_zh"] == "第一张卡的改动"
        assert store.edits(IDS[1], 1)["abstract_zh"] == second_original
    second.tools["abstract_zh"]["redo"].click()
    assert second.abstract.value == "第二张卡 一"
    second.step("abstract_zh", "redo")
    assert second.abstract.value == "第二张卡 二"
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[1], 1)["abstract_zh"] == "第二张卡 二"
    first.tools["abstract_zh"]["undo"].click()
    assert first.abstract.value == first_original


def test_every_stored_text_is_a_version_to_restore(cfg) -> None:
    app = _app(cfg)
    card = app.cards[IDS[0]]
    card.details.value = "好的解读。"
    card.details.value = "坏的改动"
    versions = app.session.versions(IDS[0], "details_md")
    assert [v.value for v in versions] == ["好的解读。", "坏的改动"]
    card.toggle_versions("details_md")
    picker = card.tools["details_md"]["picker"]
    labels = [label for label, _ in picker.options]
    picker.value = next(i for label, i in picker.options if "好的解读" in label)
    card.restore("details_md")
    assert card.details.value == "好的解读。"
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[0], 1)["details_md"] == "好的解读。"
        assert len(store.edit_versions(IDS[0], 1, "details_md")) == 3  # the bad change is still kept
    assert labels[0].startswith("generated")


def test_stale_save_refused_with_both_texts_and_nothing_lost(cfg) -> None:
    alice, bob = ReviewApp(cfg, reviewer="alice"), ReviewApp(cfg, reviewer="bob")  # both loaded now
    alice.cards[IDS[0]].details.value = "Alice 的修正"
    bob.cards[IDS[0]].details.value = "Bob 的旧版本上的改动"
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[0], 1)["details_md"] == "Alice 的修正"  # the later save did not win
        kept = [v.value for v in store.edit_versions(IDS[0], 1, "details_md")]
    assert "Bob 的旧版本上的改动" in kept  # refused, but not lost
    card = bob.cards[IDS[0]]
    shown = card.tools["details_md"]["conflict"].value
    assert "Alice 的修正" in shown and "Bob 的旧版本上的改动" in shown and "alice" in shown
    assert card.tools["details_md"]["choose"].layout.display is None
    card.resolve("details_md", keep_mine=True)  # Bob chooses his text, knowingly
    with Store(cfg.store_path) as store:
        assert store.edits(IDS[0], 1)["details_md"] == "Bob 的旧版本上的改动"
    assert card.tools["details_md"]["conflict"].value == ""
    alice.cards[IDS[0]].details.value = "Alice 又改了"  # Alice is stale now in turn
    assert "Bob 的旧版本上的改动" in alice.cards[IDS[0]].tools["details_md"]["conflict"].value
    alice.cards[IDS[0]].resolve("details_md", keep_mine=False)
    assert alice.cards[IDS[0]].details.value == "Bob 的旧版本上的改动"


def test_approval_is_of_one_version(cfg) -> None:
    alice, bob = ReviewApp(cfg, reviewer="alice"), ReviewApp(cfg, reviewer="bob")
    alice.cards[IDS[0]].decide(ReviewStatus.APPROVED)
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[0]].status is ReviewStatus.APPROVED
    bob.cards[IDS[0]].abstract.value = "Bob 改了译文"  # a change of the approved text
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[0]].status is ReviewStatus.PENDING
    alice.cards[IDS[0]].decide(ReviewStatus.APPROVED)  # Alice approves what she saw, which is not current
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[0]].status is ReviewStatus.PENDING
    assert "changed since" in alice.cards[IDS[0]].notice.value
    assert alice.cards[IDS[0]].abstract.value == "Bob 改了译文"  # now she sees it
    alice.cards[IDS[0]].decide(ReviewStatus.APPROVED)
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[0]].status is ReviewStatus.APPROVED
    alice.cards[IDS[0]].step("abstract_zh", "undo")  # nothing to undo in Alice's own history: no change
    with Store(cfg.store_path) as store:
        assert store.reviews(DATE)[IDS[0]].status is ReviewStatus.APPROVED


def test_paging_below_the_cards_and_position_kept(cfg) -> None:
    app = _app(cfg)  # 3 papers, 2 a page
    assert app.footer in app.widget().children
    assert app.next_below in app.footer.children and not app.next_below.disabled
    app.next_below.click()
    assert app.page == 1 and app.prev_below.disabled is False and app.next.disabled is True
    assert "page 2 / 2" in app.page_label_below.value == app.page_label.value
    again = _app(cfg)  # a reload (a new kernel) comes back to the same page
    assert again.page == 1 and len(again.cards_box.children) == 1
    assert (cfg.out_dir / ".jupyterlab" / f"review-position-{DATE}.json").is_file()


def _reviewed(cfg):
    """The day as publishing sees it, from the store."""
    with Store(cfg.store_path) as store:
        return reviewed_digest(cfg, store)


def test_header_counts_the_reviewers_translations(cfg) -> None:
    """Issue 24: after the reviewer translated abstracts the model had not, the header says so."""
    with Store(cfg.store_path) as store:
        for i in IDS:
            store.save_result(i, 1, "translate", ResultStatus.FAILED, detail="validation", content={},
                              regenerate=True)
    day = _reviewed(cfg)
    assert "（摘要未翻译，为英文原文）" in render_post(day)
    app = _app(cfg)
    app.cards[IDS[0]].abstract.value = "审稿人亲手翻译的摘要。"
    header = render_post(_reviewed(cfg)).split("\n## ")[0]
    assert "中文译文（其中 1 篇摘要由审稿人翻译，2 篇摘要未翻译，为英文原文）" in header
    for i in IDS[1:]:
        app.cards[i].abstract.value = f"审稿人翻译的 {i}。"
    header = render_post(_reviewed(cfg)).split("\n## ")[0]
    assert "窗口内更新的论文中文译文（其中 3 篇摘要由审稿人翻译）：" in header and "英文原文" not in header
    with Store(cfg.store_path) as store:  # a model translation edited by the reviewer stays the model's
        store.save_result(IDS[0], 1, "translate", ResultStatus.DONE, content={"text": "模型译文。"}, regenerate=True)
    header = render_post(_reviewed(cfg)).split("\n## ")[0]
    assert "其中 2 篇摘要由审稿人翻译" in header
