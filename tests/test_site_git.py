"""Issue 23: the site's git state is known. A push that failed is made by the next ``digest daily --push``
(and said so); a commit that fails leaves nothing of ours staged; a detached HEAD is refused with a hint;
git's reason is quoted whole. Real git on temporary repositories; the daily test runs the real command
against the loopback fake arXiv (offline for the LLM)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from digestlib.base import errors
from digestlib.app import site
from tests.fakes.fake_arxiv import start_fake_arxiv
from tests.test_daily import _base, _commits, _daily, _git_site, _params, needs_git
from tests.test_resilience import day_factory  # noqa: F401 - a fixture


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@needs_git
@pytest.mark.integration
def test_git_push_reason_is_quoted_whole(tmp_path: Path) -> None:
    repo = _git_site(tmp_path / "site")
    with pytest.raises(errors.SiteError) as caught:
        site.push_site(repo)  # no remote
    message = str(caught.value)
    assert "\n" not in message and "No configured push destination" in message, message
    assert "git push <name>" not in message  # git's advice, printed after the reason, is not the reason


@needs_git
@pytest.mark.integration
def test_a_failed_commit_unstages_what_we_staged(tmp_path: Path) -> None:
    repo = _git_site(tmp_path / "site")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'error: the hook says no' >&2\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    with pytest.raises(errors.SiteError) as caught:
        site.write_post(repo, "2026-01-22-arxiv-daily.md", "one\n", message="post")
    assert "the hook says no" in str(caught.value)
    assert _git(repo, "diff", "--cached", "--name-only").split() == []  # before: our post stayed staged
    assert (repo / "_posts" / "2026-01-22-arxiv-daily.md").is_file()  # written, committed next time


@needs_git
@pytest.mark.integration
def test_a_detached_head_is_refused_with_a_hint(tmp_path: Path) -> None:
    repo = _git_site(tmp_path / "site")
    _git(repo, "checkout", "-q", "--detach")
    with pytest.raises(errors.SiteError) as caught:
        site.write_post(repo, "2026-01-22-arxiv-daily.md", "one\n", message="post")
    assert "detached HEAD" in str(caught.value) and "switch" in str(caught.value)
    assert not (repo / "_posts" / "2026-01-22-arxiv-daily.md").exists()


@pytest.mark.integration
@needs_git
def test_a_push_that_failed_is_made_by_the_next_daily_push(shared_data: Path, tmp_path: Path) -> None:
    repo = _git_site(tmp_path / "site")
    params = _params(tmp_path / "params.yaml")
    out = tmp_path / "out"
    now = "2026-01-22T06:00:00+00:00"
    args = ("--params", str(params), "--out", str(out), "--site", str(repo), "--push")
    with start_fake_arxiv([_base(shared_data)], now=now, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                          workdir=tmp_path / "fake") as fake:
        first = _daily(fake, now, *args)
        assert first.returncode == 1, first.stdout + first.stderr  # committed, but the push failed: said so
        assert "push failed" in first.stdout and "No configured push destination" in first.stdout, first.stdout
        assert len(_commits(repo)) == 1
        remote = tmp_path / "remote.git"
        subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
        _git(repo, "remote", "add", "origin", str(remote))
        _git(repo, "config", "push.autoSetupRemote", "true")
        second = _daily(fake, now, *args)  # nothing left to run: before, "nothing to do" and no push
    assert second.returncode == 0, second.stdout + second.stderr
    # the site's own first commit and our post: neither ever reached a remote
    assert "pushed 2 commit(s), 2 left unpushed by an earlier run" in second.stdout, second.stdout
    branch = _git(repo, "branch", "--show-current").strip()
    assert _git(remote, "log", "--format=%s", branch).strip().splitlines()[0] == _commits(repo)[0]


@pytest.mark.integration
def test_sigterm_ends_the_run_with_one_line_saying_what_is_kept(day_factory, tmp_path: Path) -> None:
    import signal

    from tests.test_resilience import _announcement_stored, wait_until

    day = day_factory(delay=1.0)  # slow answers: the run is mid-way when the signal comes
    out = tmp_path / "out"
    proc = day.spawn(out, "--quiet")
    wait_until(_announcement_stored(out), proc, "the announcement stored")
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "terminated (SIGTERM)" in lines[0] and "run the same command again" in lines[0], stderr
    assert str(out) in lines[0]
