"""A run's fixed cost: what the ``digest`` process and the kernel import, and how the kernel ends.

Each test fails when one of issue 15's start-up or shutdown savings is undone (``make bench`` has the
figures): the slow optional import skipped by the CLI, the light modules that read a finished day, the
report's imports in the background, and a kernel that exits by itself after the extraction pool ran.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

# each test starts a fresh Python (what a new process imports) or a kernel: the integration loop
pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_the_cli_process_reads_notebooks_without_the_slow_iri_checker_and_still_validates() -> None:
    out = _python(
        "import sys\n"
        "from digestlib.app.notebook import skip_slow_optional_imports\n"
        "skip_slow_optional_imports()\n"
        "import nbformat, papermill\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "bad = nbformat.from_dict({'nbformat': 4, 'nbformat_minor': 5, 'metadata': {}, 'cells': [{'x': 1}]})\n"
        "try:\n"
        "    nbformat.validate(bad)\n"
        "except nbformat.ValidationError:\n"
        "    print('invalid caught')\n"
        "print(sys.modules.get('rfc3987_syntax', 'absent'))\n"
    )
    assert out.splitlines() == ["invalid caught", "None"]


def test_the_cli_entry_point_skips_it() -> None:
    out = _python("import sys\nfrom digestlib.app import cli\n"
                  "import contextlib, io\n"
                  "with contextlib.redirect_stdout(io.StringIO()):\n"
                  "    try:\n        cli.main(['--help'])\n    except SystemExit:\n        pass\n"
                  "print(sys.modules.get('rfc3987_syntax', 'absent'))")
    assert out == "None"


def test_reading_a_finished_day_imports_no_llm_client_source_or_extractor() -> None:
    """The CLI writes the .bib, the summary and the notes from the store after the kernel is done; review,
    publish, notify and daily read the same way. None of them needs openai, the arxiv package or pypdf."""
    out = _python(
        "import sys\n"
        "import digestlib.post.bibtex, digestlib.day.selection, digestlib.day.outcome, digestlib.post.report, digestlib.app.publish\n"
        "from digestlib.day.spend import estimate_cost\n"
        "from digestlib.source.ids import split_id\n"
        "print(sorted(m for m in ('openai', 'arxiv', 'pypdf', 'pypdfium2', 'feedparser', 'digestlib.llm.client', 'digestlib.day.pipeline',"
        " 'digestlib.source.api') if m in sys.modules))"
    )
    assert out == "[]"


def test_the_reports_chart_imports_load_in_a_thread_without_pyplot() -> None:
    out = _python(
        "import sys\n"
        "from digestlib.post import report\n"
        "before = 'matplotlib.figure' in sys.modules\n"
        "report.load_charts_in_background().join(60)\n"
        "print(before, 'matplotlib.figure' in sys.modules, 'matplotlib.pyplot' in sys.modules)"
    )
    assert out == "False True False"


def test_the_kernel_ends_with_its_pool_helpers_at_once_after_the_last_cell(tmp_path: Path, monkeypatch) -> None:
    """Asked to shut down, ipykernel terminates its children first, and multiprocessing's resource tracker
    (started by the extraction pool, like its forkserver) ignores SIGTERM: jupyter_client then waited 2.5 s
    before killing the kernel, on every run that extracted a PDF (``make bench`` shows the gap). The run
    kills the kernel's process group at once instead; none of the pool's helper processes survives it."""
    import papermill as pm
    import psutil
    from jupyter_client.manager import AsyncKernelManager

    from digestlib.app import notebook

    calls: list[bool] = []
    original = AsyncKernelManager.shutdown_kernel  # what nbclient's kernel manager calls

    async def spy(self, now: bool = False, restart: bool = False) -> None:
        calls.append(now)
        await original(self, now=now, restart=restart)

    monkeypatch.setattr(AsyncKernelManager, "shutdown_kernel", spy)
    pids = tmp_path / "pids"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os, pathlib, psutil\n"
        "from digestlib.fulltext.pool import ExtractionPool\n"
        "with ExtractionPool(2) as pool:\n"
        "    outcomes = pool.run(abs, [(-1,), (-2,), (-3,)], timeout=60)\n"
        "helpers = [c.pid for c in psutil.Process().children(recursive=True)]\n"
        f"pathlib.Path({str(pids)!r}).write_text(' '.join(map(str, [os.getpid(), *helpers])))\n"
        "print([o.value for o in outcomes], len(helpers))"
    )])
    source = tmp_path / "pool.ipynb"
    nbformat.write(nb, source)
    pm.execute_notebook(str(source), str(tmp_path / "out.ipynb"), kernel_name="python3", progress_bar=False,
                        extra_arguments=list(notebook.KERNEL_ARGUMENTS), shutdown_kernel=notebook.KERNEL_SHUTDOWN,
                        cwd=str(ROOT))
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    values, helpers = executed.cells[0].outputs[0]["text"].strip().rsplit(" ", 1)
    assert values == "[1, 2, 3]" and int(helpers) >= 1  # the forkserver and the resource tracker
    assert calls == [True]  # killed at once, never asked and waited for
    kernel_and_helpers = [int(pid) for pid in pids.read_text().split()]
    psutil.wait_procs([p for p in map(_process, kernel_and_helpers) if p is not None], timeout=10)
    assert not [pid for pid in kernel_and_helpers if _alive(pid)], "a kernel helper process outlived the run"


def _process(pid: int):
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
