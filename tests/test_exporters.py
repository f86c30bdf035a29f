"""exporters.py: ``--to jekyll`` rebuilds exactly render_post(day); ``--to digest_report`` is a clean,
script-free HTML report. Both through the Python API and through ``jupyter nbconvert``."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from digestlib.post import render, report
from digestlib.base.errors import RenderError
from digestlib.post.exporters import JekyllExporter, ReportExporter, clean_report_html, collect_post
from tests.jekyll_site import parse_html, payload_day, small_day

JUPYTER = Path(sys.executable).with_name("jupyter")

LOG_LINE = "LOG-LINE-7f3a: fetched 50 entries"
PROGRESS = "interpret: 100%|██████████| 35/35 [00:01<00:00, 30.1it/s]"
CODE_MARKER = "CODE_MARKER_93b1"
PARAM_MARKER = "PARAM_MARKER_51cd"
HOSTILE_HTML = "<b onclick=\"alert('own')\">ok</b><script>alert('own-table')</script><a href=\"javascript:alert(2)\">j</a>"


def executed_notebook(day) -> nbformat.NotebookNode:
    """What papermill leaves behind after running the daily notebook on ``day``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.metadata["papermill"] = {"parameters": {"date": "2026-01-23"}}
    params = new_code_cell(f'date = None  # {PARAM_MARKER}\nout_dir = "output"', metadata={"tags": ["parameters"]})
    injected = new_code_cell(f'# Parameters\ndate = "2026-01-23"  # {PARAM_MARKER}\n',
                             metadata={"tags": ["injected-parameters"]})
    run = new_code_cell(
        f"day = pipeline.run_day(cfg)  # {CODE_MARKER}",
        outputs=[
            new_output("stream", name="stdout", text=LOG_LINE + "\n"),
            new_output("stream", name="stderr", text=PROGRESS + "\n"),
        ],
        execution_count=3,
    )
    title = new_markdown_cell("## 今日运行报告")
    post = new_code_cell(
        f"render.display_post(day)  # {CODE_MARKER}",
        outputs=[new_output("display_data", data=data, metadata=meta) for data, meta in render.post_outputs(day)],
        execution_count=4,
    )
    table = report.day_table(day)
    tables = new_code_cell(
        f"report.day_table(day)  # {CODE_MARKER}",
        outputs=[
            new_output("execute_result", data={"text/html": table.to_html(), "text/plain": table.to_string()},
                       execution_count=5),
            new_output("display_data", data={"text/html": HOSTILE_HTML, "text/plain": "hostile"}),
            new_output("display_data", data={"application/javascript": "alert('js-output')", "text/plain": "js"}),
        ],
        execution_count=5,
    )
    return new_notebook(cells=[params, injected, run, title, post, tables], metadata=nb.metadata)


@pytest.fixture(params=["payload", "small"])
def day(request):
    return payload_day() if request.param == "payload" else small_day()


@pytest.fixture
def nb_file(tmp_path, day) -> Path:
    path = tmp_path / "executed.ipynb"
    nbformat.write(executed_notebook(day), path)
    return path


# ----------------------------------------------------------------------------------- jekyll


def test_jekyll_exporter_api_equals_render_post(day, nb_file):
    expected = render.draft_post(render.render_post(day), day.date)  # a draft: only `digest publish` publishes
    assert "\npublished: false" in expected.split("\n---\n")[0]
    post, resources = JekyllExporter().from_notebook_node(executed_notebook(day))
    assert post == expected
    assert resources["output_extension"] == ".md"
    post, _ = JekyllExporter().from_filename(str(nb_file))  # through nbformat's JSON (multi-line strings)
    assert post == expected
    for marker in (CODE_MARKER, PARAM_MARKER, LOG_LINE, "dataframe"):
        assert marker not in post


@pytest.mark.integration
def test_jekyll_exporter_cli(day, nb_file, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([str(JUPYTER), "nbconvert", "--to", "jekyll", str(nb_file), "--output-dir", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = out / "executed.md"
    # the post nbconvert writes is a draft (`published: false`): the review gate holds on this path too
    assert written.read_bytes() == render.draft_post(render.render_post(day), day.date).encode("utf-8")
    assert "\npublished: false" in written.read_text(encoding="utf-8").split("\n---\n")[0]


@pytest.mark.integration
def test_jekyll_exporter_rejects_notebook_without_post(tmp_path):
    nb = executed_notebook(small_day())
    nb.cells[4].outputs = []  # not executed / display_post failed
    with pytest.raises(RenderError, match="no post outputs"):
        JekyllExporter().from_notebook_node(nb)
    path = tmp_path / "unexecuted.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([str(JUPYTER), "nbconvert", "--to", "jekyll", str(path), "--output-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "no post outputs" in proc.stderr
    assert not (tmp_path / "unexecuted.md").exists()


def test_collect_post_detects_incomplete_or_duplicate_posts():
    nb = executed_notebook(small_day())
    twice = copy.deepcopy(nb)
    twice.cells.append(copy.deepcopy(nb.cells[4]))
    with pytest.raises(RenderError, match="2 posts"):
        collect_post(twice)
    missing = copy.deepcopy(nb)
    del missing.cells[4].outputs[1]
    with pytest.raises(RenderError, match="incomplete"):
        collect_post(missing)
    injected_only = copy.deepcopy(nb)
    injected_only.cells[1].outputs = injected_only.cells[4].outputs
    injected_only.cells[4].outputs = []
    with pytest.raises(RenderError):
        collect_post(injected_only)  # outputs of the injected-parameters cell never count


def test_a_post_in_one_chunk_is_collected():
    post = render.render_no_announcement(small_day().date, ("cs.SD",), "周末")
    fm, body = render.split_front_matter(post)
    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output(
        "display_data", data={"text/markdown": body},
        metadata={"digest": {"role": "post", "index": 0, "count": 1, "front_matter": fm}})])])
    assert collect_post(nb) == post


# ----------------------------------------------------------------------------------- report


def _check_report(html: str, day) -> None:
    for marker in (CODE_MARKER, PARAM_MARKER, LOG_LINE, "35/35"):
        assert marker not in html, marker
    dom = parse_html(html)
    main = dom.find_all("main")[0]
    assert "In\xa0[" not in main.text() and "In [" not in main.text() and "Out[" not in main.text()
    assert not [n for n in main.iter() if "jp-InputArea-editor" in (n.attrs.get("class") or "")]
    scripts = dom.find_all("script")
    assert scripts == [], [s.attrs for s in scripts]
    for node in dom.iter():
        assert not any(a.lower().startswith("on") for a in node.attrs), (node.tag, node.attrs)
        href = (node.attrs.get("href") or "").strip().lower()
        assert not href.startswith(("javascript:", "data:")), href
    assert not re.search(r"<(script|iframe|object|embed)\b", html, flags=re.I)
    assert "cdnjs" not in html and "unpkg" not in html and "mathjax" not in html.lower()
    head = html.split("<main>")[0]
    assert not re.findall(r"(?:src|href)=[\"']?https?:|@import", head), "the report loads nothing from the network"
    assert "js-output" not in html and "own-table" not in html
    assert dom.find_all("details"), "the post's <details> blocks are rendered"
    assert re.search(r"<p>1\)", html), "the seed's '1)  ' paragraphs stay paragraphs (not empty list items)"
    text = main.text()
    titles = [" ".join(e.paper.title.split()) for e in day.entries]
    for t in titles:
        assert t.replace("\\(", "(").replace("\\)", ")") in text or t in text, t
    assert "今日运行报告" in text
    assert dom.find_all("table"), "the pandas table is kept"


def test_report_exporter_api(day, nb_file):
    html, resources = ReportExporter().from_filename(str(nb_file))
    assert resources["output_extension"] == ".html"
    _check_report(html, day)


@pytest.mark.integration
def test_report_exporter_cli(day, nb_file, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(JUPYTER), "nbconvert", "--to", "digest_report", str(nb_file), "--output-dir", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    _check_report((out / "executed.html").read_text(encoding="utf-8"), day)


def test_report_keeps_errors_short_and_redacted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123456")
    nb = executed_notebook(small_day())
    nb.cells.append(new_code_cell("boom()", outputs=[new_output(
        "error", ename="LLMFatalError", evalue="bad key sk-test-SECRET-123456",
        traceback=["\x1b[31mTraceback (most recent call last)\x1b[0m", "  File x, line 1, in <module>", "BOOM-FRAME"])]))
    html, _ = ReportExporter().from_notebook_node(nb)
    assert "LLMFatalError" in html and "bad key ***" in html
    assert "sk-test-SECRET" not in html and "BOOM-FRAME" not in html


def test_clean_report_html():
    dirty = '<details open><summary>s</summary><p onclick="x()">t<img src="x" onerror="y()"></p></details><script>z</script>'
    clean = clean_report_html(dirty)
    assert "<details" in clean and "<summary>" in clean
    assert "onclick" not in clean and "onerror" not in clean and "<script" not in clean and "z" not in clean.replace("summary", "")
    assert 'href="javascript' not in clean_report_html('<a href="javascript:alert(1)">a</a>')


@pytest.mark.integration
def test_real_kernel_display_post_then_export(tmp_path):
    """display_post in a real IPython kernel (via papermill) -> nbconvert --to jekyll == render_post."""
    papermill = pytest.importorskip("papermill")
    nb = new_notebook(cells=[
        new_code_cell("label = 'x'", metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import sys\n"
            "from digestlib.post import render\n"
            "from tests.jekyll_site import payload_day\n"
            "print('log line to stdout'); print('progress', file=sys.stderr)\n"
            "render.display_post(payload_day())\n"
        ),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src, out = tmp_path / "in.ipynb", tmp_path / "run.ipynb"
    nbformat.write(nb, src)
    root = str(Path(__file__).resolve().parents[1])
    papermill.execute_notebook(str(src), str(out), parameters={"label": "y"}, kernel_name="python3",
                               cwd=root, progress_bar=False)
    post, _ = JekyllExporter().from_filename(str(out))
    assert post == render.draft_post(render.render_post(payload_day()), payload_day().date)
    html, _ = ReportExporter().from_filename(str(out))
    assert "log line to stdout" not in html and "progress" not in html.split("<main>")[1]
    assert "<script" not in html
