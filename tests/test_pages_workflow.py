"""The GitHub Pages deploy workflow of examples/github-actions/ passes actionlint and uses the official Pages
actions; the site template holds nothing GitHub Pages would refuse (no _plugins/, only allowed plugins)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digestlib.app.site_pages import TEMPLATE_DIR, template_files

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "examples" / "github-actions" / "pages.yml"
PAGES_PLUGINS = {"jekyll-feed", "jekyll-seo-tag", "jekyll-sitemap", "jekyll-paginate", "jekyll-redirect-from",
                 "jekyll-relative-links", "jekyll-optional-front-matter", "jekyll-default-layout"}


@pytest.mark.integration
def test_the_pages_workflow_passes_actionlint_and_uses_the_official_actions() -> None:
    actionlint = os.environ.get("ACTIONLINT") or str(Path(sys.executable).with_name("actionlint"))
    assert Path(actionlint).is_file(), "actionlint is missing: `make install` installs the test extras"
    done = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = WORKFLOW.read_text(encoding="utf-8")
    for action in ("actions/configure-pages@", "actions/jekyll-build-pages@", "actions/upload-pages-artifact@",
                   "actions/deploy-pages@"):
        assert action in text
    assert "pages: write" in text and "id-token: write" in text


def test_the_site_template_uses_only_plugins_github_pages_allows() -> None:
    files = [str(p) for p in template_files()]
    assert not any(f.startswith("_plugins") for f in files)
    assert "_includes/math.html" in files and "search.json" in files
    config = (TEMPLATE_DIR / "_config.yml").read_text(encoding="utf-8")
    plugins = set(re.findall(r"(?m)^  - (jekyll-[\w-]+)$", config))
    assert plugins and plugins <= PAGES_PLUGINS
    assert not (TEMPLATE_DIR / "Gemfile").exists()  # a Gemfile would make Jekyll need bundler and the network
    for layout in ("default.html",):
        assert "{% include math.html %}" in (TEMPLATE_DIR / "_includes" / "head.html").read_text(encoding="utf-8")
        assert "{%- include head.html -%}" in (TEMPLATE_DIR / "_layouts" / layout).read_text(encoding="utf-8")
