"""The human gate's UI: review states over the store (``state``), the ipywidgets page (``widgets``),
regeneration on request (``regenerate``) and ``digest review`` (``launch``)."""

from .launch import REVIEW_NOTEBOOK, launch_review, prepare_review
from .state import PaperReview, ReviewSession, open_review_store, reviewer_name
from .widgets import PaperCard, ReviewApp

__all__ = ["REVIEW_NOTEBOOK", "PaperCard", "PaperReview", "ReviewApp", "ReviewSession", "launch_review",
           "open_review_store", "prepare_review", "reviewer_name"]
