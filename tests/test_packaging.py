"""The project's own files agree with each other: environment.yml, pyproject, the notebook's parameters."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import nbformat
import yaml

from digestlib.base.config import PARAMETER_KEYS, Config, build_config

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    listed = {_name(r) for r in pip_lists[0]} | conda
    assert listed == wanted


def test_notebook_parameters_cell_matches_the_config() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "daily_digest.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and nb.cells.index(tagged[0]) <= 1, "the first code cell is tagged parameters"
    names: dict[str, object] = {}
    exec(tagged[0].source, {}, names)  # plain assignments only
    assert set(PARAMETER_KEYS) <= set(names), "every parameter-file key is a notebook parameter"
    params = {k: names[k] for k in PARAMETER_KEYS}
    cfg = build_config(date=names["date"], params=params, env={})
    defaults = Config(date=cfg.date, out_dir=cfg.out_dir)
    assert cfg == defaults, "the notebook's defaults are the config's defaults"


def test_notebook_code_cells_only_call_digestlib() -> None:
    nb = nbformat.read(ROOT / "notebooks" / "daily_digest.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class|for|while|with|try|if)\b", cell.source, re.M), \
                f"logic belongs in digestlib:\n{cell.source}"
            assert len(cell.source.splitlines()) <= 30


def test_exporters_and_console_script_are_registered() -> None:
    exporters = {e.name: e.value for e in entry_points(group="nbconvert.exporters")}
    assert exporters["jekyll"] == "digestlib.post.exporters:JekyllExporter"
    assert exporters["digest_report"] == "digestlib.post.exporters:ReportExporter"
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["digest"] == "digestlib.app.cli:main"


def test_output_folder_is_ignored_but_kept() -> None:
    assert (ROOT / "output" / ".gitkeep").exists()
    assert "output/*" in (ROOT / ".gitignore").read_text()
