"""nbconvert exporters: ``--to jekyll`` (the post) and ``--to digest_report`` (the HTML report).

Both are registered as ``nbconvert.exporters`` entry points in pyproject.toml, so after
``pip install -e .``::

    jupyter nbconvert --to jekyll executed.ipynb          # -> executed.md   (== render.render_post(day))
    jupyter nbconvert --to digest_report executed.ipynb   # -> executed.html (no code, no logs, no scripts)

The post contract (written by :func:`digestlib.post.render.display_post`): the post is the sequence of
``display_data`` outputs whose output metadata is ``{"digest": {"role": "post", "index": i,
"count": n, ...}}``, in notebook order, ``i`` running 0..n-1; output 0 also carries ``"front_matter"``.
The post file is that front matter followed by the ``text/markdown`` of those outputs, concatenated.
Nothing else (code, streams, parameters, tables) reaches the post.

A run's ``report.html`` is not exported from its executed notebook: every path (run, publish, review)
writes it with :func:`digestlib.post.report.write_report`, which feeds :class:`ReportExporter` the
report's own notebook (``report.report_notebook``). ``--to digest_report`` stays for a notebook run by hand.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

import nbformat
import nh3
from nbconvert.exporters import Exporter, HTMLExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, List, Unicode, default

from ..base.errors import RenderError, redact
from .render import NOTE_ROLE, POST_ROLE, draft_post

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Cells never shown in a report: papermill's parameters cells and cells the author marks as hidden.
HIDDEN_CELL_TAGS = ("injected-parameters", "parameters", "remove_cell", "remove-cell", "report-hide")
# Output mime types that carry code to run in the reader's browser.
ACTIVE_MIMETYPES = (
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
    "application/vnd.bokehjs_exec.v0+json",
    "application/vnd.bokehjs_load.v0+json",
    "application/vnd.holoviews_exec.v0+json",
    "application/vnd.holoviews_load.v0+json",
    "text/vnd.mermaid",
)


NUMBERED_PARAGRAPH = re.compile(r"^(\d{1,2})\)(?=[ \t]|$)", re.MULTILINE)


def _text(value: object) -> str:
    """nbformat may keep a multi-line string as a list of lines."""
    if isinstance(value, list):
        return "".join(value)
    return str(value)


def _post_meta(output: nbformat.NotebookNode) -> dict[str, object] | None:
    if output.get("output_type") not in ("display_data", "execute_result"):
        return None
    meta = (output.get("metadata") or {}).get("digest")
    if isinstance(meta, dict) and meta.get("role") == POST_ROLE:
        return meta
    return None


def collect_post(nb: nbformat.NotebookNode) -> str:
    """The post text held by an executed notebook's outputs (see the module docstring).

    Raises ``RenderError`` when there is no post output (notebook not executed, or the cell calling
    ``display_post`` failed), when the chunks are incomplete or out of order, or when the notebook
    displays more than one post."""
    posts: list[list[tuple[dict[str, object], str]]] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        if "injected-parameters" in (cell.get("metadata", {}).get("tags") or []):
            continue
        for output in cell.get("outputs", []):
            meta = _post_meta(output)
            if meta is None:
                continue
            data = output.get("data") or {}
            if "text/markdown" not in data:
                raise RenderError("a post output has no text/markdown data")
            if meta.get("index", 0) == 0:
                posts.append([])
            elif not posts:
                raise RenderError("the first post output is not chunk 0 (the post is incomplete)")
            posts[-1].append((meta, _text(data["text/markdown"])))
    if not posts:
        raise RenderError(
            "the notebook has no post outputs (outputs with metadata digest.role == 'post'): "
            "was it executed, and did the cell calling render.display_post(day) succeed?"
        )
    if len(posts) > 1:
        raise RenderError(f"the notebook displays {len(posts)} posts; display the post once")
    chunks = posts[0]
    count = chunks[0][0].get("count", len(chunks))
    indices = [m.get("index", k) for k, (m, _) in enumerate(chunks)]
    if indices != list(range(len(chunks))) or len(chunks) != count:
        raise RenderError(f"the post outputs are incomplete or out of order: got chunks {indices} of {count}")
    front_matter = chunks[0][0].get("front_matter")
    if not isinstance(front_matter, str) or not front_matter.startswith("---\n"):
        raise RenderError("the first post output carries no front matter (metadata digest.front_matter)")
    return front_matter + "".join(text for _, text in chunks)


def _post_date(nb: nbformat.NotebookNode, post: str) -> dt.date:
    """The post's date: the first post output's metadata (``digest.date``), else the post's title."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = _post_meta(output)
            if meta and meta.get("date"):
                return dt.date.fromisoformat(str(meta["date"]))
    m = re.search(r"\d{4}-\d{2}-\d{2}", post.split("\n---", 1)[0])
    if not m:
        raise RenderError("the post's date is in neither its output metadata nor its title")
    return dt.date.fromisoformat(m.group(0))


class JekyllExporter(Exporter):
    """``--to jekyll``: the Jekyll post (front matter + the post's Markdown outputs, nothing else), marked
    ``published: false`` (``render.draft_post``): whoever exports by hand gets a draft too, and only
    ``digest publish`` writes the reviewed post, so the review gate holds on every path."""

    export_from_notebook = "Jekyll post (arXiv digest)"
    output_mimetype = "text/markdown"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".md"

    def from_notebook_node(self, nb, resources=None, **kw):  # type: ignore[override]
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        post = collect_post(nb_copy)
        post = draft_post(post, _post_date(nb_copy, post))
        resources["output_extension"] = self.file_extension
        return post, resources


# --------------------------------------------------------------------------------------------------
# The report

REPORT_TAGS = nh3.ALLOWED_TAGS | {"details", "summary"}
REPORT_ATTRIBUTES: dict[str, set[str]] = {
    **{k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href", "hreflang", "title"},
    "table": {"border", "summary", "align"},
    "th": {"colspan", "rowspan", "scope", "align"},
    "td": {"colspan", "rowspan", "align"},
    "details": {"open"},
    "ol": {"start"},
}
REPORT_URL_SCHEMES = {"http", "https", "mailto"}


def clean_report_html(html: str | bytes) -> str:
    """Sanitise HTML for the report with nh3: no script/style elements, no event handlers, no
    ``javascript:`` or ``data:`` links; keeps tables, headings, lists, ``<details>``."""
    text = html.decode() if isinstance(html, bytes) else str(html)
    return nh3.clean(
        text,
        tags=REPORT_TAGS,
        attributes=REPORT_ATTRIBUTES,
        url_schemes=REPORT_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


class DigestReportPreprocessor(Preprocessor):
    """Drop what a reader of the report should not see: parameters cells, stream outputs (logs, tqdm
    progress), outputs that would run code in the browser; shorten errors to one redacted line; drop
    code cells left without outputs."""

    hidden_tags = List(Unicode(), default_value=list(HIDDEN_CELL_TAGS)).tag(config=True)
    keep_streams = Bool(False, help="Keep stdout/stderr outputs in the report.").tag(config=True)

    def preprocess(self, nb, resources):
        cells = []
        hidden = set(self.hidden_tags)
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags") or [])
            if tags & hidden:
                continue
            if cell.cell_type == "code":
                cell.outputs = [o for o in (self._clean_output(o) for o in cell.get("outputs", [])) if o is not None]
                if not cell.outputs:
                    continue
            if cell.cell_type == "raw":
                continue  # raw cells pass through unrendered: never in the report
            cells.append(cell)
        nb.cells = cells
        nb.metadata.pop("widgets", None)
        return nb, resources

    def _clean_output(self, output):
        kind = output.get("output_type")
        if kind == "stream":
            return output if self.keep_streams else None
        if kind == "error":
            output = copy.deepcopy(output)
            line = redact(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")
            output["traceback"] = [line]
            output["evalue"] = redact(str(output.get("evalue", "")))
            return output
        if kind in ("display_data", "execute_result"):
            data = output.get("data") or {}
            if _post_meta(output) is not None and "text/markdown" in data:
                # kramdown reads the seed's "1)  " as text; CommonMark (the report) as an empty list item
                data["text/markdown"] = NUMBERED_PARAGRAPH.sub(r"\1\\)", _text(data["text/markdown"]))
            for mime in ACTIVE_MIMETYPES:
                data.pop(mime, None)
            if not data:
                return None
            output["data"] = data
            return output
        return output


class ReportExporter(HTMLExporter):
    """``--to digest_report``: a standalone HTML report of the executed notebook without code cells,
    prompts, stream output or parameters, with every HTML fragment sanitised and no external script."""

    export_from_notebook = "arXiv digest report"

    @default("template_name")
    def _template_name_default(self) -> str:
        return "digest_report"

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self) -> list[str]:
        return [str(TEMPLATES_DIR)]

    @default("exclude_input")
    def _exclude_input_default(self) -> bool:
        return True

    @default("exclude_input_prompt")
    def _exclude_input_prompt_default(self) -> bool:
        return True

    @default("exclude_output_prompt")
    def _exclude_output_prompt_default(self) -> bool:
        return True

    @default("exclude_raw")
    def _exclude_raw_default(self) -> bool:
        return True

    @default("sanitize_html")
    def _sanitize_html_default(self) -> bool:
        return True  # routes markdown, HTML outputs and SVG through clean_html, i.e. nh3 below

    @default("language_code")
    def _language_code_default(self) -> str:
        return "zh"

    def __init__(self, config=None, **kw):
        super().__init__(config=config, **kw)
        self.register_preprocessor(DigestReportPreprocessor(parent=self), enabled=True)

    def default_filters(self):
        yield from super().default_filters()
        yield ("clean_html", clean_report_html)  # registered last: replaces nbconvert's bleach filter


def export_post(executed: Path) -> str:
    """The Jekyll post from an executed notebook (what ``jupyter nbconvert --to jekyll`` writes)."""
    body, _ = JekyllExporter().from_filename(str(executed))
    return body


def collect_notes(executed: Path) -> list[str]:
    """The run's notes (pending papers, a stopped LLM) as plain text, from an executed notebook."""
    nb = nbformat.read(str(executed), as_version=4)
    notes = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("digest", {})
            if isinstance(meta, dict) and meta.get("role") == NOTE_ROLE:
                notes.append(redact(str(meta.get("text", ""))))
    return notes
