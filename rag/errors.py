"""Errors the library raises for the user to fix; the CLI turns them into one-line messages."""

from __future__ import annotations


class RagError(Exception):
    """Base class: a problem the user can act on (the message says how)."""


class InputError(RagError):
    """A question or argument that cannot be used as given."""


class EmptyStoreError(RagError):
    """A question was asked of a store that holds no articles."""

    @classmethod
    def at(cls, where: str) -> EmptyStoreError:
        return cls(f"No articles are indexed in {where} yet. Add some with 'python -m rag ingest PATH'.")


class StoreMismatchError(RagError):
    """The store was built with settings (model, chunking) other than the current ones."""


class NotFoundError(RagError):
    """An article id that is not in the store."""
