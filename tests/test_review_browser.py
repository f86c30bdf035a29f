"""The human gate in a real browser: `digest review` starts JupyterLab on 127.0.0.1, Debian's Chromium
(driven by Playwright, no browser download) opens the printed URL, runs the review notebook, edits a
translation, approves one paper, rejects another and regenerates one interpretation against the loopback
fake OpenAI server; the store holds all of it; `digest publish` is refused while papers are pending, then
writes a post with the edit and without the rejected paper. The report opened in Chromium shows its
charts and table (checked in the DOM) and makes no request off the machine. Screenshots are kept under
``output/test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import nbformat
import pytest

from digestlib.base.models import ReviewStatus
from digestlib.app.demo import SAMPLE_DATE, pending_ids, write_sample_snapshot
from digestlib.store.store import Store
from tests.fakes.fake_openai import start_fake_openai
from tests.browser import system_chromium

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
ARTIFACTS = ROOT / "output" / "test-artifacts"
KEY = "sk-browser-test-5b1e0c7d9a"
DATE = SAMPLE_DATE.isoformat()
EDIT = "审稿人在浏览器里改过的译文。"
INSTRUCTION = "请更简洁"
LOADED_MS = 180_000  # a wait for JupyterLab or a kernel: generous, for a 2-core machine with another job on it


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chromium():
    with system_chromium() as browser:
        yield browser


@pytest.fixture
def day(tmp_path: Path) -> Iterator[dict]:
    """The sample day run with the loopback fake LLM; its environment for the next commands."""
    llm = start_fake_openai(api_key=KEY)
    out = tmp_path / "out"
    snapshot = write_sample_snapshot(tmp_path / "snapshot")
    params = tmp_path / "params.yaml"
    params.write_text("categories: [cs.SD, eess.AS]\nllm: {model: fake-model, concurrency: 4}\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    env.update(OPENAI_BASE_URL=llm.url, OPENAI_API_KEY=KEY, DIGEST_REVIEWER="browser-test")
    try:
        done = subprocess.run([DIGEST, "run", "--date", DATE, "--replay", str(snapshot), "--params", str(params),
                               "--out", str(out), "-q"], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert done.returncode in (0, 3), done.stderr
        yield {"out": out, "params": params, "env": env, "llm": llm, "tmp": tmp_path}
    finally:
        llm.stop()


def _digest(day: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([DIGEST, *args, "--date", DATE, "--out", str(day["out"]), "--params", str(day["params"])],
                          env=day["env"], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture
def lab(day: dict) -> Iterator[str]:
    """`digest review` running JupyterLab; yields the URL it printed."""
    port = _free_port()
    proc = subprocess.Popen([DIGEST, "review", "--date", DATE, "--out", str(day["out"]), "--params", str(day["params"]),
                             "--port", str(port), *(["--allow-root"] if os.geteuid() == 0 else [])],
                            env=day["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            start_new_session=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    try:
        deadline = time.monotonic() + 180
        url = None
        while time.monotonic() < deadline and url is None:
            match = next((re.search(r"open (http://127\.0\.0\.1:\d+/lab/tree/\S+)", line) for line in lines), None)
            url = match.group(1) if match else None
            if proc.poll() is not None:
                pytest.fail(f"digest review exited {proc.returncode}: {proc.stderr.read()}")
            time.sleep(0.2)
        assert url, "digest review printed no URL"
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/{DATE}/review.ipynb?token=")
        while time.monotonic() < deadline:  # JupyterLab listening
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _first_page_papers(store: Store) -> list:
    """The day's papers with a PDF in the review's order (the post's: newest id first), so that the first
    ones are cards on the first page (the twelve-paper sample day spans two pages of 10 cards)."""
    day = [p for p in store.announcement(SAMPLE_DATE) if store.ledger().get(p.arxiv_id) == SAMPLE_DATE]
    return sorted((p for p in day if p.arxiv_id not in pending_ids()), key=lambda p: p.arxiv_id, reverse=True)


def test_review_in_jupyterlab_then_publish(day: dict, lab: str, chromium) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Store(day["out"] / "digest.sqlite") as store:
        papers = _first_page_papers(store)
        day_count = sum(1 for p in store.announcement(SAMPLE_DATE) if store.ledger().get(p.arxiv_id) == SAMPLE_DATE)
    assert len(papers) >= 3 and day_count > 10  # the sample day spans two review pages
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    off_machine: list[str] = []
    page.on("request", lambda r: off_machine.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else None)
    # every dialog and toast JupyterLab shows is remembered: the notebook must open with its own kernel
    # (no "Select Kernel") and `digest review` turns off the "official Jupyter news?" question
    page.add_init_script("""window.__seen = [];
        new MutationObserver(() => document.querySelectorAll('.jp-Dialog, .Toastify__toast').forEach(d => {
            const text = d.innerText.slice(0, 200); if (!window.__seen.includes(text)) window.__seen.push(text); }))
        .observe(document, {childList: true, subtree: true});""")
    page.goto(lab, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator, .jp-StatusBar-Widget", timeout=30_000)
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=60_000)
    page.get_by_text("Python 3 (arxiv-digest)").first.wait_for(timeout=10_000)  # the notebook's own kernel
    try:
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "review-ui-failed.png"))
        raise
    try:
        page.wait_for_selector(".digest-card", timeout=120_000)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "review-ui-failed.png"), full_page=True)
        raise

    first, second = (re.sub(r"[^0-9A-Za-z]", "-", p.arxiv_id) for p in (papers[0], papers[1]))
    card1, card2 = page.locator(f".digest-card-{first}"), page.locator(f".digest-card-{second}")
    card1.locator(".digest-abstract textarea").fill(EDIT)
    card1.locator(".digest-abstract textarea").press("Tab")
    card1.locator("button.digest-approve").click()
    card2.locator("button.digest-reject").click()
    card2.locator("button.digest-bibtex").click()  # the entry shows, to copy (issue 16)
    card2.locator(".digest-bibtex-entry pre").wait_for(timeout=30_000)
    assert f"eprint        = {{{papers[1].arxiv_id}}}" in card2.locator(".digest-bibtex-entry pre").inner_text()
    interpret_calls = sum(1 for e in day["llm"].log() if e.get("kind") == "interpret")
    card1.locator(".digest-instruction input").fill(INSTRUCTION)
    card1.locator("button.digest-regen-interpretation").click()
    page.wait_for_selector(f".digest-card-{first} [data-done='interpret']", timeout=120_000)
    page.wait_for_function("document.querySelector('.digest-counts [data-rejected]').dataset.rejected === '1'")
    page.screenshot(path=str(ARTIFACTS / "review-ui.png"), full_page=False)
    assert "failed" not in card1.locator(".digest-progress").inner_text()
    seen = page.evaluate("window.__seen")
    assert not [t for t in seen if "Select Kernel" in t or "Jupyter news" in t], seen

    with Store(day["out"] / "digest.sqlite") as store:
        reviews = store.reviews(SAMPLE_DATE)
        assert reviews[papers[0].arxiv_id].status is ReviewStatus.APPROVED
        assert reviews[papers[0].arxiv_id].reviewer == "browser-test"
        assert reviews[papers[1].arxiv_id].status is ReviewStatus.REJECTED
        assert store.edits(papers[0].arxiv_id, papers[0].version)["abstract_zh"] == EDIT
        regenerated = store.get_result(papers[0].arxiv_id, papers[0].version, "interpret")
        assert regenerated.content.get("regenerated") is True
    after = sum(1 for e in day["llm"].log() if e.get("kind") == "interpret")
    assert after > interpret_calls, "the regeneration asked the model again (past the cache)"

    refused = _digest(day, "publish")  # papers still pending: the gate holds
    assert refused.returncode == 5 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert re.search(r"\d+ papers? of " + DATE + " still await review", refused.stderr)

    page.locator("button.digest-approve-all").click()
    page.select_option(".digest-filter select", "pending")
    for _ in range(len(papers)):
        buttons = page.locator(".digest-card button.digest-approve")
        if buttons.count() == 0:
            break
        buttons.first.click()
        page.wait_for_timeout(500)
    page.wait_for_function("document.querySelector('.digest-counts [data-pending]').dataset.pending === '0'",
                           timeout=30_000)

    site = day["tmp"] / "site"
    site.mkdir()
    (site / "_config.yml").write_text("title: test\n", encoding="utf-8")
    published = _digest(day, "publish", "--site", str(site))
    assert published.returncode == 0, published.stderr
    post = (site / "_posts" / f"{DATE}-arxiv-daily.md").read_text(encoding="utf-8")
    assert EDIT in post
    assert papers[1].title.split(":")[0] not in post and papers[0].title.split(":")[0] in post

    report = day["out"] / DATE / "report.html"
    view = chromium.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    view.on("request", lambda r: requests.append(r.url))
    view.goto(report.as_uri(), wait_until="load")
    charts = view.evaluate("Array.from(document.images).filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 300).length")
    rows = view.evaluate("document.querySelectorAll('table.digest-papers tr').length")
    assert charts >= 1 and rows == day_count + 1  # one row a paper, the pending one too
    assert "已拒绝" in view.inner_text("table.digest-papers")  # the report speaks the output language
    view.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    leaving = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert not leaving, leaving
    assert not off_machine, off_machine


def _open_review(page, lab: str) -> None:
    """Open the printed URL, run all cells, wait for the cards."""
    page.goto(lab, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LOADED_MS)
    page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=LOADED_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    try:
        page.wait_for_selector(".digest-card .digest-abstract textarea", timeout=LOADED_MS)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "review-undo-failed.png"), full_page=True)
        raise


def _saved_widget_view(notebook: Path, *, since: int) -> bool:
    """Whether the notebook was saved after ``since`` (ns) with an executed cell whose output is a widget
    view (the cards; papermill's run at launch left one too, of a kernel that is gone)."""
    try:
        if notebook.stat().st_mtime_ns < since:
            return False
        nb = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):  # not there yet, or being written
        return False
    return any(c.cell_type == "code" and c.execution_count and any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in c.outputs) for c in nb.cells)


def _stored(day: dict, paper, field: str = "abstract_zh") -> str | None:
    with Store(day["out"] / "digest.sqlite") as store:
        return store.edits(paper.arxiv_id, paper.version).get(field)


def _until(check, timeout: float = 30.0, what: str = "the store never reached the expected text") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        time.sleep(0.2)


def test_ctrl_z_stays_in_its_own_field(day: dict, lab: str, chromium) -> None:
    """Issue 24: the browser's page-wide undo stack must never undo another card's edit (it did, and the
    loss was stored at once); Undo and Redo buttons step through one field's own history."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with Store(day["out"] / "digest.sqlite") as store:
        papers = _first_page_papers(store)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    _open_review(page, lab)
    first, second = (re.sub(r"[^0-9A-Za-z]", "-", p.arxiv_id) for p in (papers[0], papers[1]))
    area1 = page.locator(f".digest-card-{first} .digest-abstract textarea")
    area2 = page.locator(f".digest-card-{second} .digest-abstract textarea")
    second_original = area2.input_value()
    area1.click()
    area1.press("Control+a")
    page.keyboard.type("第一张卡的译文，审稿人打的。")
    area1.press("Tab")
    _until(lambda: _stored(day, papers[0]) == "第一张卡的译文，审稿人打的。")
    area2.fill("第二张卡 第一次")
    area2.press("Tab")
    _until(lambda: _stored(day, papers[1]) == "第二张卡 第一次")
    area2.fill("第二张卡 第二次")
    area2.press("Tab")
    _until(lambda: _stored(day, papers[1]) == "第二张卡 第二次")
    area2.click()
    for _ in range(8):  # far more than the second field's own changes
        page.keyboard.press("Control+z")
        page.wait_for_timeout(300)
    _until(lambda: _stored(day, papers[1]) == second_original)
    page.wait_for_timeout(1500)  # time for any stray undo to reach the store
    assert _stored(day, papers[0]) == "第一张卡的译文，审稿人打的。", "Ctrl+Z in card 2 changed card 1"
    assert area1.input_value() == "第一张卡的译文，审稿人打的。"
    _until(lambda: area2.input_value() == second_original)
    page.locator(f".digest-card-{second} button.digest-redo-abstract").click()
    _until(lambda: _stored(day, papers[1]) == "第二张卡 第一次")
    page.locator(f".digest-card-{second} button.digest-redo-abstract").click()
    _until(lambda: _stored(day, papers[1]) == "第二张卡 第二次")
    page.locator(f".digest-card-{second} button.digest-undo-abstract").click()
    _until(lambda: _stored(day, papers[1]) == "第二张卡 第一次")
    _until(lambda: area2.input_value() == "第二张卡 第一次")  # the kernel's update reaches the page after the store
    page.keyboard.press("Control+Shift+z")  # focus is on the button: the page's own undo, nothing of ours
    page.wait_for_timeout(1000)
    assert _stored(day, papers[0]) == "第一张卡的译文，审稿人打的。"
    page.screenshot(path=str(ARTIFACTS / "review-undo.png"), full_page=False)
    with Store(day["out"] / "digest.sqlite") as store:
        kept = [v.value for v in store.edit_versions(papers[1].arxiv_id, papers[1].version, "abstract_zh")]
    assert "第二张卡 第二次" in kept and "第二张卡 第一次" in kept  # every stored text is a version

    # the notebook holds one parameters cell, the day's (no stale `date = "2026-01-22"` above it)
    nb = nbformat.read(day["out"] / DATE / "review.ipynb", as_version=4)
    parameters = [c for c in nb.cells if "parameters" in (c.metadata.get("tags") or [])]
    assert len(parameters) == 1 and f'date = "{DATE}"' in parameters[0].source
    assert not any('date = "2026-01-22"' in c.source for c in nb.cells if c.cell_type == "code")
    button = page.locator("button.digest-approve-all").first
    assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), "the label is cut by its button"

    # a page reload: the cards come back without running a cell (saved outputs + the live kernel). JupyterLab
    # clears a document's dirty flag when a save completes (docregistry's `Context._save`), so an output that
    # arrives while an autosave is in flight is never autosaved: on a loaded machine the Run All's last
    # output can be that one (the file then holds the cell as "[*]", empty). Save as a reviewer would before
    # reloading, and reload only once the file holds the cards' output.
    asked = time.time_ns()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Save Notebook$")).click()
    _until(lambda: _saved_widget_view(day["out"] / DATE / "review.ipynb", since=asked), timeout=120,
           what="the review notebook was never saved with the cards' output")
    page.wait_for_function("!document.querySelector('.jp-mod-dirty')", timeout=60_000)
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LOADED_MS)
    try:
        page.wait_for_selector(f".digest-card-{second} .digest-abstract textarea", timeout=LOADED_MS)
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "review-reload-failed.png"), full_page=True)
        raise
    assert page.locator(f".digest-card-{first} .digest-abstract textarea").input_value() == "第一张卡的译文，审稿人打的。"
