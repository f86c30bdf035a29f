"""`digest review` stops cleanly: SIGTERM, SIGINT or SIGHUP to it stops its JupyterLab and the kernels
JupyterLab started, and the port is free again within seconds; JupyterLab's workspace and settings are
under the output folder, not in the home folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from digestlib.base.config import build_config
from digestlib.base.models import AnnounceType, Paper, ResultStatus
from digestlib.store.store import Store
from tests.test_resilience import kill_tree

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
DATE = dt.date(2026, 1, 22)
TOKEN = "review-launch-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _command_line(process: psutil.Process) -> str:
    """A process's command line; empty for one that ended (or became a zombie) while the tree was listed."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _still_running(pids: list[int]) -> list[psutil.Process]:
    running = []
    for pid in pids:
        try:
            running.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return running


def _port_free(port: int) -> bool:
    """Nothing listens on the port, and a server may bind it again (SO_REUSEADDR, as JupyterLab and
    every server do: this test's own closed connections may linger in TIME_WAIT)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        pass
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stored_day(out: Path) -> None:
    cfg = build_config(date=DATE, out_dir=out, params={}, env={})
    with Store(cfg.store_path) as store:
        paper = Paper("2601.00001", 1, "A title", ("A. Author",), ("cs.SD",), "An abstract.",
                      announce_type=AnnounceType.NEW)
        store.save_announcement(DATE, [paper], "rss")
        store.claim(DATE, paper.arxiv_id, 1)
        store.save_result(paper.arxiv_id, 1, "translate", ResultStatus.DONE, content={"text": "译文。"})


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signal_frees_the_port_and_ends_the_kernel(tmp_path: Path, stop: signal.Signals) -> None:
    out = tmp_path / "out"
    _stored_day(out)
    port = _free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_", "JUPYTER_"))}
    env["HOME"] = str(home)
    proc = subprocess.Popen([DIGEST, "review", "--date", DATE.isoformat(), "--out", str(out), "--port", str(port),
                             *(["--allow-root"] if os.geteuid() == 0 else [])],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kernel_pids: list[int] = []
    try:
        deadline = time.monotonic() + 180
        url = None
        for line in proc.stdout:
            if "open http://" in line:
                url = line.split("open ", 1)[1].strip()
                break
        assert url, proc.stderr.read()
        token = url.split("token=")[1]
        while time.monotonic() < deadline:  # JupyterLab listening
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                time.sleep(0.3)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernels?token={token}", data=b"{}",
                                         method="POST", headers={"Content-Type": "application/json"})
        kernel = json.loads(urllib.request.urlopen(request, timeout=60).read())
        assert kernel["id"]
        lab_processes = psutil.Process(proc.pid).children(recursive=True)
        kernel_pids = [p.pid for p in lab_processes if "ipykernel" in _command_line(p)]
        assert kernel_pids, [_command_line(p) for p in lab_processes]
        assert not _port_free(port)

        stopped_at = time.monotonic()
        proc.send_signal(stop)
        proc.wait(60)
        while not _port_free(port) and time.monotonic() - stopped_at < 90:  # a loaded machine's slack
            time.sleep(0.2)
        assert _port_free(port), "JupyterLab still holds the port 90 s after the signal"
        _gone, alive = psutil.wait_procs(_still_running(kernel_pids), timeout=30)
        assert not alive, "a kernel outlived digest review"
        assert proc.returncode == 0
    finally:
        kill_tree(proc)  # a failed assertion leaves no JupyterLab or kernel behind
        for leftover in _still_running(kernel_pids):
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass
    assert (out / ".jupyterlab" / "workspaces").is_dir()
    assert not (home / ".jupyter" / "lab" / "workspaces").exists()
