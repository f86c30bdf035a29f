"""A Jekyll site as the post's destination: ``_posts/<name>`` written atomically, committed when the site is
a git repository (one commit per post that changed), pushed only when asked.

Why a module of its own: publishing must be idempotent (a scheduler may call it every ten minutes), so an
unchanged post is neither rewritten nor committed; and ``git`` is a third party whose failures (no
identity, a rejected push) must reach the user as one line, not a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..base.atomic import atomic_write_text
from ..base.errors import SiteError, UsageError

GIT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class SitePost:
    """What publishing one post did: where it is, whether its text changed, the commit made (if any)."""

    path: Path
    changed: bool
    commit: str | None = None


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``git -C repo ...``; a failure becomes a ``SiteError`` carrying git's own last line."""
    git = shutil.which("git")
    if git is None:
        raise SiteError("git is not installed, so the post cannot be committed to the site")
    try:
        done = subprocess.run([git, "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SiteError(f"git {args[0]} in {repo} took longer than {GIT_TIMEOUT_SECONDS:.0f} s") from None
    if check and done.returncode != 0:
        hint = git_reason(done.stderr or done.stdout) or f"exit status {done.returncode}"
        if "user.email" in done.stderr or "Please tell me who you are" in done.stderr:
            hint = "git has no author identity: set user.name and user.email (git config) in the site"
        raise SiteError(f"git {args[0]} failed in {repo}: {hint}")
    return done


def git_reason(output: str) -> str:
    """git's own reason for a failure, whole: its ``fatal:`` / ``error:`` lines (a hook's or a remote's
    ``error:`` too), else its last line (git prints advice after the reason: ``git push <name>`` is not
    one)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    reasons = [line for line in lines if line.lower().startswith(("fatal:", "error:", "remote: error", "! ["))]
    return " ".join(reasons) if reasons else (lines[-1] if lines else "")


def unpushed_commits(site: Path) -> int:
    """Commits of the site's current branch that no remote has (pushed by the next ``--push``); 0 outside
    git or before the first commit."""
    if head_commit(site) is None:
        return 0
    done = _git(site, "rev-list", "--count", "HEAD", "--not", "--remotes", check=False)
    return int(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip().isdigit() else 0


def _refuse_detached_head(site: Path) -> None:
    if _git(site, "symbolic-ref", "-q", "HEAD", check=False).returncode != 0:
        raise SiteError(f"the site's repository {site} is on a detached HEAD: a commit there would belong to "
                        "no branch; check out a branch first (git -C SITE switch main)", path=str(site))


def git_root(site: Path) -> Path | None:
    """The top of the git work tree holding ``site``, or None when ``site`` is not in one."""
    if shutil.which("git") is None:
        return None
    done = _git(site, "rev-parse", "--show-toplevel", check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def head_commit(site: Path) -> str | None:
    """The commit the site's repository is at (None outside git, or before the first commit)."""
    if git_root(site) is None:
        return None
    done = _git(site, "rev-parse", "--verify", "-q", "HEAD", check=False)
    return done.stdout.strip() or None


def require_jekyll_site(site: Path) -> None:
    """Refuse a folder that is not a Jekyll site (no ``_config.yml``): the post would land where no site
    is built from it. One line with the way to make one."""
    if not site.is_dir():
        raise UsageError(f"Jekyll site folder not found: {site}")
    if not (site / "_config.yml").is_file():
        raise UsageError(f"{site} is not a Jekyll site (no _config.yml): create one with `digest site init {site}`, "
                         "or pass the site's folder")


def write_post(site: Path, name: str, text: str, *, message: str, push: bool = False,
               companions: Sequence[Path] = ()) -> SitePost:
    """Write ``site/_posts/name`` when its text differs; in a git repository commit exactly that file and
    its ``companions`` (files already written into the site that the post links to: the day's .bib).

    Only those paths are committed (``git commit -- paths``), so whatever else the user has staged in the
    site stays staged and out of the commit. An unchanged post makes no commit and no write.
    """
    if not site.is_dir():
        raise UsageError(f"Jekyll site folder not found: {site}")
    if git_root(site) is not None:
        _refuse_detached_head(site)  # before anything is written
    posts = site / "_posts"
    posts.mkdir(exist_ok=True)
    target = posts / name
    changed = not target.is_file() or target.read_text(encoding="utf-8") != text
    if changed:
        atomic_write_text(target, text)
    commit = None
    if git_root(site) is not None:
        root = Path(git_root(site)).resolve()
        paths = [str(p.resolve().relative_to(root)) for p in (target, *companions) if p.is_file()]
        status = _git(site, "status", "--porcelain", "--", *paths).stdout
        if status.strip():  # new or modified (also a post written by an earlier run that failed to commit)
            _git(site, "add", "--", *paths)
            try:
                _git(site, "commit", "-q", "-m", message, "--", *paths)
            except SiteError:  # a refusing hook, no identity: what we staged leaves the user's index
                if head_commit(site) is None:
                    _git(site, "rm", "-q", "--cached", "--", *paths, check=False)
                else:
                    _git(site, "reset", "-q", "--", *paths, check=False)
                raise
            commit = head_commit(site)
        if push:
            push_site(site)
    return SitePost(target, changed, commit)


def push_site(site: Path) -> None:
    """``git push`` the site's current branch to its upstream (only ever on the user's request)."""
    if git_root(site) is None:
        raise UsageError(f"--push needs the site to be a git repository: {site}")
    _refuse_detached_head(site)
    _git(site, "push", "-q")
