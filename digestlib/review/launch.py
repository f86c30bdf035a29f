"""``digest review --date D``: execute the day's review notebook, then serve it with JupyterLab on
127.0.0.1 so that the printed URL opens that notebook (not the Launcher).

JupyterLab runs in its own process group; SIGTERM, SIGINT and SIGHUP to ``digest review`` stop it and
every kernel it started (kernels sit in their own sessions, so they are found as JupyterLab's
descendants with psutil), and nothing is left holding the port. Its settings and workspace (the layout
it saves) live under ``<out>/.jupyterlab/``, never in the user's ``~/.jupyter``.

Heavy imports load on first use: papermill and nbformat (``lazy_loader``, module level), and jupyterlab's
``commands`` and jupyter_client's ``kernelspec`` inside the two functions that need them (submodules, which
``lazy_loader`` would import with their packages at once).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import lazy_loader
import psutil

from ..base.config import Config
from ..base.errors import DigestError, PortTakenError, UsageError
from ..day.selection import stored_selection
from .state import open_review_store

REVIEW_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "review.ipynb"
HOST = "127.0.0.1"
pm = lazy_loader.load("papermill")
nbformat = lazy_loader.load("nbformat")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _require_day(cfg: Config) -> None:
    with open_review_store(cfg) as store:
        stored_selection(cfg, store)  # fails clearly when the date was never run


def prepare_review(cfg: Config, params_file: str | None = None) -> Path:
    """Execute ``notebooks/review.ipynb`` for the date into ``<out>/<date>/review.ipynb`` (widget state
    saved, so it opens showing the day); fails clearly when the date was never run."""
    _require_day(cfg)
    target = cfg.day_dir / "review.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    parameters = {"date": cfg.date.isoformat(), "out_dir": str(cfg.out_dir)}
    if params_file:
        parameters["params_file"] = str(Path(params_file).resolve())
    try:
        pm.execute_notebook(str(REVIEW_NOTEBOOK), str(target), parameters=parameters, kernel_name="python3",
                            progress_bar=False, cwd=str(Path.cwd()),
                            extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except pm.PapermillException as exc:
        raise DigestError(f"the review notebook failed: {getattr(exc, 'evalue', exc)}") from None
    merge_parameters_cell(target)
    return target


def merge_parameters_cell(notebook: Path) -> None:
    """One parameters cell holding the day's values: papermill keeps the notebook's defaults (a stale
    ``date = "2026-01-22"``) above the cell it injects; the injected values replace the defaults' cell."""
    nb = nbformat.read(notebook, as_version=4)
    tags = [set(c.get("metadata", {}).get("tags") or []) for c in nb.cells]
    injected = next((i for i, t in enumerate(tags) if "injected-parameters" in t), None)
    defaults = next((i for i, t in enumerate(tags) if "parameters" in t), None)
    if injected is None or defaults is None:
        return
    cell = nb.cells[injected]
    cell.source = "# Parameters of this review (filled in by `digest review`)\n" + "\n".join(
        line for line in cell.source.splitlines() if not line.startswith("# Parameters"))
    cell.metadata["tags"] = ["parameters"]
    del nb.cells[defaults]
    nbformat.write(nb, notebook)


KERNEL_NAME = "python3"  # the kernel `make install` registers in the venv (papermill runs with it too)
# JupyterLab settings for the review session: no "Would you like to get notified about official Jupyter
# news?" question and no update check (both would fetch from the internet; the review is on loopback).
# Autosave every few seconds (issue 24): the saved outputs then name the live kernel's widgets, so that after a
# page reload JupyterLab's widget manager restores the cards from the kernel without running a cell.
LAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
                 "@jupyterlab/docmanager-extension:plugin": {"autosave": True, "autosaveInterval": 5}}


def lab_settings_dir(cfg: Config) -> Path:
    """``<out>/.jupyterlab/settings``: JupyterLab's app settings folder for `digest review`."""
    return cfg.out_dir / ".jupyterlab" / "settings"


def lab_workspaces_dir(cfg: Config) -> Path:
    """``<out>/.jupyterlab/workspaces``: where JupyterLab keeps the review's layout (not ``~/.jupyter``)."""
    return cfg.out_dir / ".jupyterlab" / "workspaces"


def write_lab_settings(cfg: Config) -> Path:
    """Fill :func:`lab_settings_dir`: what the environment's own app settings folder holds (if anything),
    with :data:`LAB_OVERRIDES` merged into its ``overrides.json``. The user's own settings are untouched."""
    from jupyterlab.commands import get_app_dir

    target = lab_settings_dir(cfg)
    default = Path(get_app_dir()) / "settings"
    if default.is_dir():
        shutil.copytree(default, target, dirs_exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "overrides.json"
    overrides = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    for plugin, values in LAB_OVERRIDES.items():
        overrides.setdefault(plugin, {}).update(values)
    path.write_text(json.dumps(overrides, indent=2) + "\n", encoding="utf-8")
    return target


def stamp_kernelspec(notebook: Path) -> None:
    """Name in the notebook's metadata exactly the kernel JupyterLab will find (name, display name,
    language of the installed ``python3`` kernelspec), so that it opens with its kernel; JupyterLab
    asks "Select Kernel" when the named kernel is not among the server's kernelspecs."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        raise DigestError(f"the {KERNEL_NAME!r} Jupyter kernel is not installed in this environment "
                          "(run `make install`)") from None
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": spec.display_name, "language": spec.language}
    nbformat.write(nb, notebook)


def lab_command(cfg: Config, notebook: Path, *, port: int, token: str, allow_root: bool) -> tuple[list[str], str]:
    """The JupyterLab command line and the URL that lands on the notebook."""
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable)) or shutil.which("jupyter")
    if jupyter is None:
        raise DigestError("JupyterLab is not installed in this environment (run `make install`)")
    root = cfg.out_dir
    relative = notebook.resolve().relative_to(root.resolve()).as_posix()
    command = [jupyter, "lab", f"--ServerApp.ip={HOST}", f"--ServerApp.port={port}",
               "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", f"--ServerApp.token={token}",
               f"--ServerApp.default_url=/lab/tree/{relative}", "--ServerApp.open_browser=False",
               f"--LabApp.app_settings_dir={lab_settings_dir(cfg)}",
               f"--LabApp.workspaces_dir={lab_workspaces_dir(cfg)}"]
    if allow_root:
        command.append("--allow-root")
    return command, f"http://{HOST}:{port}/lab/tree/{relative}?token={token}"


def launch_review(cfg: Config, *, port: int = 8888, allow_root: bool = False, params_file: str | None = None,
                  token: str | None = None) -> int:
    """Prepare the notebook and run JupyterLab in the foreground until Ctrl-C."""
    _require_day(cfg)  # first: a day never run is the most useful thing to hear
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not allow_root:
        raise UsageError("JupyterLab refuses to run as root: pass --allow-root (or run as another user)")
    if not port_is_free(port):
        raise PortTakenError(f"port {port} on {HOST} is already in use: pass --port with a free port", port=port)
    notebook = prepare_review(cfg, params_file)
    stamp_kernelspec(notebook)
    write_lab_settings(cfg)
    token = token or secrets.token_urlsafe(24)
    command, url = lab_command(cfg, notebook, port=port, token=token, allow_root=allow_root)
    lab_workspaces_dir(cfg).mkdir(parents=True, exist_ok=True)
    print(f"Review {cfg.date}: open {url}\n(run the notebook's cells to get the live widgets; Ctrl-C stops JupyterLab)",
          flush=True)
    return serve_until_stopped(command)


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name))


def serve_until_stopped(command: list[str], *, grace: float = 15.0) -> int:
    """Run JupyterLab until it exits or a stop signal arrives; then stop it and its kernels. Returns
    JupyterLab's exit code, or 0 after a stop asked for by a signal (the reviewer's Ctrl-C, a supervisor)."""
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _frame: received.append(signum)) for s in STOP_SIGNALS}
    lab = subprocess.Popen(command, start_new_session=True)
    try:
        while not received:
            try:
                return lab.wait(0.3)
            except subprocess.TimeoutExpired:
                continue
        print(f"{signal.Signals(received[0]).name}: stopping JupyterLab and its kernels", file=sys.stderr, flush=True)
        return 0
    finally:
        stop_lab(lab, grace=grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def stop_lab(lab: subprocess.Popen, *, grace: float = 15.0) -> None:
    """SIGTERM to JupyterLab (it shuts its kernels down), then, after ``grace`` seconds, SIGKILL to it and
    to any descendant still alive (a kernel is in a session of its own, out of JupyterLab's group)."""
    try:
        descendants = psutil.Process(lab.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    if lab.poll() is None:
        try:
            os.killpg(lab.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        lab.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(lab.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        lab.wait()
    alive = [p for p in descendants if p.is_running()]
    for process in alive:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _gone, still = psutil.wait_procs(alive, timeout=5)
    for process in still:
        try:
            process.kill()
        except psutil.Error:
            pass
