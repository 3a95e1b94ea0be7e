"""Chat-style question answering over your articles, with numbered citations to the exact passages used."""

from .chain import build_chain, build_retriever
from .config import Settings
from .errors import RagError
from .library import Library
from .retrieval import Filters
from .schema import Answer, ArticleInfo, Citation, IngestReport, Passage

__all__ = [
    "Answer", "ArticleInfo", "Citation", "Filters", "IngestReport", "Library", "Passage", "RagError", "Settings",
    "build_chain", "build_retriever",
]
