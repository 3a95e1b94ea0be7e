"""Our connection to Chroma: the only code that knows Chroma's client internals.

A local store (``chromadb.PersistentClient``) is cached by Chroma once per path and process, and that
cached system never sees what other processes write (its vector index is loaded once). To see their
writes, :meth:`ChromaClient.refresh` opens a system of our own and *stops* the one it replaces: only
dropping it from Chroma's cache kept its native memory (measured: +89.6 MB RSS over 30 refreshes of a
20,000-vector store, against +11.7 MB when stopped). A system is stopped a grace period after it
was replaced, so a call that another thread started on it still completes.

A server (``RAG_CHROMA_URL``) is reached over HTTP with the configured credentials; connection and
authentication failures become one-line :class:`StoreUnavailableError` messages.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from .config import Settings
from .errors import RagError

log = logging.getLogger(__name__)

# Chroma's client cache is per process and not thread-safe: every client we create goes through this lock.
_LOCK = threading.RLock()
RETIRE_AFTER = 30.0  # seconds a replaced local system stays usable for calls already under way


class StoreUnavailableError(RagError):
    """The Chroma server cannot be reached, refused our credentials, or the store cannot be written."""


def auth_headers(settings: Settings) -> dict[str, str]:
    """HTTP headers for a Chroma server: ``RAG_CHROMA_HEADERS``, plus ``Authorization: Bearer`` from ``RAG_CHROMA_TOKEN``."""
    headers = dict(settings.chroma_headers or {})
    if settings.chroma_token is not None:
        headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
    return headers


class ChromaClient:
    """One Chroma client for a :class:`rag.store.Store`: open, refresh (local stores), translate failures, close."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._system: Any = None
        self._retired: list[tuple[float, Any]] = []
        self.api = self._open()

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.store_path)

    @property
    def remote(self) -> bool:
        return bool(self.settings.chroma_url)

    def _open(self):
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if self.remote:
            return self._open_http(chroma_settings)
        return self._open_local(chroma_settings)

    def _open_http(self, chroma_settings):
        import chromadb

        url = urlparse(self.settings.chroma_url)
        headers = auth_headers(self.settings)
        self._probe(headers)
        with errors(self.where):
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https", headers=headers or None, settings=chroma_settings,
            )

    def _probe(self, headers: dict[str, str]) -> None:
        """One request before Chroma's client starts: a refused login or a dead server gets a clear message."""
        import httpx

        url = self.settings.chroma_url.rstrip("/") + "/api/v2/auth/identity"
        try:
            status = httpx.get(url, headers=headers, timeout=10.0).status_code
        except httpx.HTTPError as exc:
            raise StoreUnavailableError(f"Cannot reach the Chroma server at {self.where} ({type(exc).__name__}): "
                                        "is it running, and is RAG_CHROMA_URL right?") from None
        if status in (401, 403):
            given = "were refused" if "Authorization" in headers or self.settings.chroma_headers else "are missing"
            raise StoreUnavailableError(f"The Chroma server at {self.where} requires credentials, and ours {given} "
                                        f"(HTTP {status}): set RAG_CHROMA_TOKEN or RAG_CHROMA_HEADERS.")

    def _open_local(self, chroma_settings):
        import chromadb
        from chromadb.api.shared_system_client import SharedSystemClient

        from .locking import open_lock

        path = str(self.settings.store_path)
        with _LOCK:
            # Chroma would hand back the system cached for this path (possibly stale, or another
            # client's); take it out so the client below gets a new one, then keep that one to ourselves.
            SharedSystemClient._identifier_to_system.pop(path, None)
            self.settings.store_path.mkdir(parents=True, exist_ok=True)
            with open_lock(self.settings), errors(self.where):  # Chroma's first-time set-up races between processes
                client = chromadb.PersistentClient(path=path, settings=chroma_settings)
            self._system = SharedSystemClient._identifier_to_system.pop(path, None)
            SharedSystemClient._identifier_to_refcount.pop(path, None)
        return client

    def refresh(self) -> None:
        """A new view of a local store (sees other processes' writes); the replaced one is stopped later."""
        if self.remote:
            return
        with _LOCK:
            old = self._system
            self.api = self._open()
            if old is not None:
                self._retired.append((time.monotonic(), old))
            self._stop_retired(RETIRE_AFTER)

    def _stop_retired(self, age: float) -> None:
        now = time.monotonic()
        keep = []
        for since, system in self._retired:
            if now - since >= age:
                system.stop()
            else:
                keep.append((since, system))
        self._retired = keep

    def close(self) -> None:
        """Stop every system this client opened (no call may be under way)."""
        with _LOCK:
            self._stop_retired(0.0)
            if self._system is not None:
                self._system.stop()
                self._system = None
            elif self.remote:
                self.api.close()

    def collection(self, name: str, create: bool = False, **kwargs) -> Guarded:
        """A collection whose calls raise :class:`StoreUnavailableError` when the server or folder fails."""
        with errors(self.where):
            get = self.api.get_or_create_collection if create else self.api.get_collection
            return Guarded(get(name, embedding_function=None, **kwargs), self.where)

    def delete_collection(self, name: str) -> None:
        with errors(self.where):
            self.api.delete_collection(name)

    def max_batch_size(self) -> int:
        with errors(self.where):
            return int(self.api.get_max_batch_size())


class Guarded:
    """A Chroma collection whose method calls translate transport and permission failures (see :func:`errors`)."""

    def __init__(self, collection: Any, where: str) -> None:
        self._collection = collection
        self._where = where

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._collection, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            with errors(self._where):
                return value(*args, **kwargs)

        return call


@contextmanager
def errors(where: str) -> Iterator[None]:
    """Turn a lost server, refused credentials or an unwritable store folder into a one-line message."""
    import httpx
    from chromadb.errors import ChromaError, NotFoundError

    try:
        yield
    except (RagError, NotFoundError):
        raise
    except httpx.HTTPError as exc:
        raise StoreUnavailableError(f"Lost the Chroma server at {where} ({type(exc).__name__}); "
                                    "nothing half-written is visible: run the command again once it is back.") from exc
    except ChromaError as exc:
        message = str(exc)
        if "readonly" in message.lower() or "read-only" in message.lower() or "permission" in message.lower():
            raise StoreUnavailableError(f"The store at {where} cannot be written ({_short(message)}): "
                                        "check the folder's permissions.") from exc
        raise
    except ValueError as exc:
        if "Could not connect" in str(exc):
            raise StoreUnavailableError(f"Cannot reach the Chroma server at {where}: is it running?") from exc
        raise
    except PermissionError as exc:
        raise StoreUnavailableError(f"The store at {where} cannot be written ({exc.strerror}): "
                                    "check the folder's permissions.") from exc
    except Exception as exc:  # noqa: BLE001 - Chroma's HTTP client raises bare Exception(body) for proxy errors
        if type(exc) is Exception and ("401" in str(exc) or "403" in str(exc)):
            raise StoreUnavailableError(f"The Chroma server at {where} refused our credentials: "
                                        "check RAG_CHROMA_TOKEN or RAG_CHROMA_HEADERS.") from exc
        raise


def _short(message: str) -> str:
    return " ".join(message.split())[:160]
