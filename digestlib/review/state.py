"""The review of one day, without widgets: papers, their generated and edited texts, flags, decisions.

Every change goes to the store at once (an edit as it is typed, an undo too; a decision with who and
when), so nothing depends on a Save button, a kernel that stays alive, or the notebook file. The widgets
(``review.widgets``) and the tests drive this class; ``digest publish`` reads the same store. The session
works on one open store (:func:`open_review_store`, opened once by whoever starts the review: SQLite in
WAL mode lets the command line use the same file meanwhile).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from ..base.config import Config, read_environment
from ..base.errors import DigestError, StaleReviewError
from ..base.models import Paper, PaperEntry, PendingReason, ResultStatus, ReviewStatus, TextStatus
from ..base.models import INTERPRET, TRANSLATE
from ..day.selection import first_page, stored_selection
from ..post.render import entry_from_results
from ..store.store import EditVersion, ResultRecord, ReviewRecord, StaleSave, Store
from .regenerate import regenerate_task

FIELDS = ("abstract_zh", "details_md")
_TASK_OF_FIELD = {"abstract_zh": TRANSLATE, "details_md": INTERPRET}


def reviewer_name(env: Mapping[str, str] | None = None) -> str:
    """Who decides: ``DIGEST_REVIEWER`` when set (in ``env``: ``Config.environ``), else the login name."""
    env = read_environment() if env is None else env
    name = (env.get("DIGEST_REVIEWER") or "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class PaperReview:
    """One paper as the reviewer sees it: the generated texts, the edits, the flags and the decision."""

    paper: Paper
    generated: dict[str, str]  # field -> what the model (or the offline fallback) produced, as labelled
    edits: dict[str, str]  # field -> the reviewer's text
    bases: dict[str, str | None]  # field -> the generated text the edit was made over
    revisions: dict[str, int] = field(default_factory=dict)  # field -> the stored revision shown (0: generated)
    conflicts: dict[str, StaleSave] = field(default_factory=dict)  # field -> a refused stale save, to resolve
    status: ReviewStatus = ReviewStatus.PENDING
    reviewer: str = ""
    decided_at: str = ""
    flags: list[str] = field(default_factory=list)  # short English phrases, e.g. "failed: PDF is encrypted"
    entry: PaperEntry | None = None  # the post's entry as generated: venues, code and demo links (render)

    def text(self, field_name: str) -> str:
        """What the post will show for the field."""
        return self.edits.get(field_name, self.generated[field_name])

    def newer_output(self, field_name: str) -> bool:
        """The model produced something else since the edit was made: offer it beside the edit."""
        base = self.bases.get(field_name)
        return field_name in self.edits and base is not None and base != self.generated[field_name]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def _flags(entry: PaperEntry, translation: ResultRecord | None, interpretation: ResultRecord | None,
           fulltext_status: TextStatus | None) -> list[str]:
    flags = []
    if entry.unverified_numbers:
        flags.append("numbers not found in the paper: " + ", ".join(entry.unverified_numbers))
    if fulltext_status is TextStatus.PENDING or (
            interpretation is not None and interpretation.status is ResultStatus.PENDING
            and interpretation.content.get("reason") == PendingReason.FULLTEXT):
        flags.append("PDF pending (not on arXiv yet)")
    if interpretation is not None and interpretation.content.get("source") == "abstract":
        flags.append("interpreted from the abstract only")
    for name, result in (("translation", translation), ("interpretation", interpretation)):
        if result is None or result.status is ResultStatus.PENDING:
            if not (name == "interpretation" and flags and "PDF pending" in flags[-1]):
                flags.append(f"{name} pending")
        elif result.status is ResultStatus.FAILED:
            flags.append(f"{name} failed: {result.detail or 'no reason recorded'}")
    return flags


def open_review_store(cfg: Config) -> Store:
    """The day's store, opened for a review session; refused when no run has written it yet."""
    if not cfg.store_path.is_file():  # opening the store would create it (and the output folder)
        raise DigestError(f"nothing is stored for {cfg.date} in {cfg.out_dir}: "
                          f"run `digest run --date {cfg.date}` first")
    return Store(cfg.store_path)


class ReviewSession:
    """One day's review over ``store`` (:func:`open_review_store`; the caller closes it)."""

    def __init__(self, cfg: Config, store: Store, *, reviewer: str | None = None) -> None:
        self.cfg, self.store = cfg, store
        self.reviewer = reviewer or reviewer_name(cfg.environ)
        self.papers = [p for p in stored_selection(cfg, store).new]
        self.items: dict[str, PaperReview] = {}
        self.reload()

    # -- reading -----------------------------------------------------------------------------------
    def reload(self, arxiv_ids: Iterable[str] | None = None) -> None:
        """Read (some of) the papers again from the store."""
        wanted = set(arxiv_ids) if arxiv_ids is not None else None
        reviews = self.store.reviews(self.cfg.date)
        for paper in self.papers:
            if wanted is not None and paper.arxiv_id not in wanted:
                continue
            conflicts = self.items[paper.arxiv_id].conflicts if paper.arxiv_id in self.items else {}
            self.items[paper.arxiv_id] = self._load(paper, reviews.get(paper.arxiv_id))
            self.items[paper.arxiv_id].conflicts.update(conflicts)  # a refused save stays to resolve

    def _load(self, paper: Paper, review: ReviewRecord | None) -> PaperReview:
        store = self.store
        translation = store.get_result(paper.arxiv_id, paper.version, TRANSLATE)
        interpretation = store.get_result(paper.arxiv_id, paper.version, INTERPRET)
        entry = entry_from_results(paper, translation=translation, interpretation=interpretation,
                                   language=self.cfg.language, first_page=first_page(store, paper))
        records = store.edit_records(paper.arxiv_id, paper.version)
        ft = store.get_fulltext(paper.arxiv_id, paper.version)
        return PaperReview(
            paper=paper,
            generated={"abstract_zh": entry.abstract_zh, "details_md": entry.details_md},
            edits={f: r.value for f, r in records.items()},
            bases={f: r.base for f, r in records.items()},
            revisions={f: store.current_revision(paper.arxiv_id, paper.version, f) for f in FIELDS},
            status=review.status if review else ReviewStatus.PENDING,
            reviewer=review.reviewer if review else "",
            decided_at=review.decided_at if review else "",
            flags=_flags(entry, translation, interpretation, ft.fulltext.status if ft else None),
            entry=entry,
        )

    def __iter__(self) -> Iterator[PaperReview]:
        return iter(self.items[p.arxiv_id] for p in self.papers)

    def __len__(self) -> int:
        return len(self.papers)

    def get(self, arxiv_id: str) -> PaperReview:
        return self.items[arxiv_id]

    def counts(self) -> dict[str, int]:
        """Live header numbers: pending / approved / rejected / flagged."""
        counts = {s.value: 0 for s in ReviewStatus}
        for item in self:
            counts[item.status.value] += 1
        counts["flagged"] = sum(1 for item in self if item.flagged)
        return counts

    def matching(self, status_filter: str) -> list[PaperReview]:
        """``all``, a ReviewStatus value, ``flagged`` or ``unflagged``."""
        if status_filter == "all":
            return list(self)
        if status_filter == "flagged":
            return [i for i in self if i.flagged]
        if status_filter == "unflagged":
            return [i for i in self if not i.flagged]
        return [i for i in self if i.status.value == status_filter]

    # -- writing -----------------------------------------------------------------------------------
    def edit(self, arxiv_id: str, field_name: str, value: str) -> StaleSave | None:
        """Store the reviewer's text now, as a new revision of the one this session loaded; typing the
        generated text back is stored too (an undo). When another session saved the field meanwhile, the
        save is refused (kept in the store as a refused version) and both texts are returned and remembered
        in ``item.conflicts`` to choose from (:meth:`resolve`)."""
        if field_name not in FIELDS:
            raise DigestError(f"unknown editable field {field_name!r}")
        item = self.items[arxiv_id]
        if item.text(field_name) == value and field_name in item.edits and field_name not in item.conflicts:
            return None
        saved = self.store.save_edit_revision(item.paper.arxiv_id, item.paper.version, field_name, value,
                                              made_on=item.revisions.get(field_name, 0),
                                              base=item.generated[field_name], editor=self.reviewer)
        if isinstance(saved, StaleSave):
            item.conflicts[field_name] = saved
            return saved
        item.edits[field_name] = value
        item.bases.setdefault(field_name, item.generated[field_name])
        item.revisions[field_name] = saved
        item.conflicts.pop(field_name, None)
        self._reload_decision(item)
        return None

    def resolve(self, arxiv_id: str, field_name: str, keep_mine: bool) -> None:
        """End a conflict: ``keep_mine`` saves the refused text over the other session's one (which stays a
        stored version), else the other session's text is taken as it is."""
        item = self.items[arxiv_id]
        conflict = item.conflicts.pop(field_name, None)
        if conflict is None:
            return
        self.reload([arxiv_id])
        if keep_mine:
            self.edit(arxiv_id, field_name, conflict.refused_value)

    def versions(self, arxiv_id: str, field_name: str) -> list[EditVersion]:
        """Every stored text of the field, oldest first: any of them can be restored from the card."""
        item = self.items[arxiv_id]
        return self.store.edit_versions(item.paper.arxiv_id, item.paper.version, field_name)

    def take_generated(self, arxiv_id: str, field_name: str) -> None:
        """Drop the edit of a field: the (new) generated text is what the post shows (kept as a revision)."""
        item = self.items[arxiv_id]
        self.store.drop_edit(item.paper.arxiv_id, item.paper.version, field_name,
                             generated=item.generated[field_name], editor=self.reviewer)
        item.revisions[field_name] = self.store.current_revision(item.paper.arxiv_id, item.paper.version, field_name)
        item.edits.pop(field_name, None)
        item.bases.pop(field_name, None)
        self._reload_decision(item)

    def _reload_decision(self, item: PaperReview) -> None:
        record = self.store.reviews(self.cfg.date).get(item.paper.arxiv_id)
        if record is not None:
            item.status, item.reviewer, item.decided_at = record.status, record.reviewer, record.decided_at

    def decide(self, arxiv_id: str, status: ReviewStatus | str) -> None:
        """Record the decision; an approval is of the texts this session shows (their revisions), refused
        (:class:`StaleReviewError`) when another session changed one of them since."""
        status = ReviewStatus(status)
        item = self.items[arxiv_id]
        self.store.set_review(self.cfg.date, item.paper.arxiv_id, item.paper.version, status, self.reviewer,
                              revisions={f: item.revisions.get(f, 0) for f in FIELDS})
        record = self.store.reviews(self.cfg.date)[item.paper.arxiv_id]
        item.status, item.reviewer, item.decided_at = status, record.reviewer, record.decided_at

    def approve_unflagged(self) -> int:
        """Approve every pending paper without a flag; return how many."""
        chosen = [i.paper.arxiv_id for i in self if i.status is ReviewStatus.PENDING and not i.flagged]
        approved = 0
        for arxiv_id in chosen:
            try:
                self.decide(arxiv_id, ReviewStatus.APPROVED)
                approved += 1
            except StaleReviewError:  # changed in another session meanwhile: shown again, left pending
                self.reload([arxiv_id])
        return approved

    # -- regenerate --------------------------------------------------------------------------------
    def regenerate(self, arxiv_id: str, task: str, instruction: str = "") -> ResultStatus:
        """Ask the model again for one paper's translation or interpretation (bypassing the response
        cache), with the reviewer's optional extra instruction; the result replaces the stored one.
        An edit of the field stays: the new output is shown beside it to take or leave."""
        item = self.items[arxiv_id]
        field_name = next(f for f, t in _TASK_OF_FIELD.items() if t == task)
        before = item.text(field_name)
        status = regenerate_task(self.cfg, self.store, item.paper, task, instruction)
        self.reload([arxiv_id])
        if self.items[arxiv_id].text(field_name) != before:  # the post's text changed: approve it again
            self.store.withdraw_approval(item.paper.arxiv_id, item.paper.version)
            self.reload([arxiv_id])
        return status

