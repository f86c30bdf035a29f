"""arXiv's category taxonomy and the rule for a post tag: what a parameter file may name as a category or
a tag, checked once when the parameters are read (``config``) and again, with the same rule, when a
post's front matter is written (``post/render``), so that what passes the first never fails the second.

Must not: read files or the environment, or know about posts beyond the shape of a tag.
"""

from __future__ import annotations

import difflib
import re

from .errors import ConfigError
from .safe_yaml import excerpt

# arXiv category taxonomy prefixes we accept (archive.subject or a bare archive such as "hep-th").
_CATEGORY_RE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?$")
_KNOWN_ARCHIVES = {
    "cs", "econ", "eess", "math", "physics", "q-bio", "q-fin", "stat", "astro-ph", "cond-mat", "gr-qc",
    "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin", "nucl-ex", "nucl-th", "quant-ph",
}
# arXiv's subject classes (https://arxiv.org/category_taxonomy): a typo such as cs.DS for cs.SD, or cs.sd,
# would fetch another feed or none at all, so it is an error here.
_SUBJECTS = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS NA NE NI OH OS PF "
          "PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA RA RT SG SP ST",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph flu-dyn "
               "gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
}

# One rule for a post tag (a category or a field's own tag), checked by config.py when the parameter file is
# read and by render.py when the front matter is written: what passes the first never fails the second.
POST_TAG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def is_post_tag(tag: object) -> bool:
    """Whether ``tag`` can stand in the post's ``tags: [...]`` (and a /tags/ page's name) as it is."""
    return isinstance(tag, str) and POST_TAG_RE.fullmatch(tag) is not None


def check_category(cat: str) -> None:
    """Refuse a category that is not in arXiv's taxonomy (``ConfigError``, with the closest one named)."""
    archive, _, subject = cat.partition(".")
    if (not _CATEGORY_RE.match(cat) or archive not in _KNOWN_ARCHIVES
            or (subject and subject not in _SUBJECTS.get(archive, "").split())):
        known = {f"{a}.{s}".casefold(): f"{a}.{s}" for a, subjects in _SUBJECTS.items() for s in subjects.split()}
        close = difflib.get_close_matches(cat.casefold(), list(known), n=1, cutoff=0.6)
        hint = f"did you mean {known[close[0]]}?" if close else "expected e.g. cs.SD, eess.AS, hep-th"
        raise ConfigError(f"unknown arXiv category {excerpt(cat)} ({hint})")
