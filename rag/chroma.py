"""Our connection to Chroma: the only code that knows Chroma's client internals.

A local store (``chromadb.PersistentClient``) is cached by Chroma once per path and process, and that
cached system never sees what other processes write (its vector index is loaded once). To see their
writes, :meth:`ChromaClient.refresh` opens a system of our own and *stops* the one it replaces once
no call is under way on it (every collection call is counted), then hands freed heap back to the OS.
Only dropping it from Chroma's cache, as before, kept its native memory: +89.6 MB RSS over 30
refreshes of a 20,000-vector store, against +11.7 MB when stopped. In ``benchmarks/soak.py`` (a
serving process under 50 ingest/update/remove cycles) its RSS grew 157.9 MB after warm-up with the
cache pop alone, and 3.9 MB with this class (2.1 MB against a server, which needs no refresh).

A server (``RAG_CHROMA_URL``) is reached over HTTP with the configured credentials; connection and
authentication failures become one-line :class:`StoreUnavailableError` messages.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from .config import Settings
from .errors import RagError

log = logging.getLogger(__name__)

# Chroma's client cache is per process and not thread-safe: every client we create goes through this lock.
_LOCK = threading.RLock()


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
        self._generation = _Generation(None)
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
        with _LOCK, errors(self.where):  # a folder we may not write is refused here, in one line
            # Chroma would hand back the system cached for this path (possibly stale, or another
            # client's); take it out so the client below gets a new one, then keep that one to ourselves.
            SharedSystemClient._identifier_to_system.pop(path, None)
            self.settings.store_path.mkdir(parents=True, exist_ok=True)
            with open_lock(self.settings):  # Chroma's first-time set-up races between processes
                client = chromadb.PersistentClient(path=path, settings=chroma_settings)
            self._generation = _Generation(SharedSystemClient._identifier_to_system.pop(path, None))
            SharedSystemClient._identifier_to_refcount.pop(path, None)
        return client

    def refresh(self) -> None:
        """A new view of a local store (sees other processes' writes); the replaced one stops when idle."""
        if self.remote:
            return
        with _LOCK:
            old = self._generation
            self.api = self._open()
            old.retire()

    def close(self) -> None:
        """Stop the system this client opened (no call may be under way)."""
        with _LOCK:
            if self.remote:
                self.api.close()
            else:
                self._generation.retire(force=True)

    def collection(self, name: str, create: bool = False, **kwargs) -> Guarded:
        """A collection whose calls raise :class:`StoreUnavailableError` when the server or folder fails."""
        with _LOCK, errors(self.where):
            get = self.api.get_or_create_collection if create else self.api.get_collection
            return Guarded(get(name, embedding_function=None, **kwargs), self, self._generation)

    def delete_collection(self, name: str) -> None:
        with errors(self.where):
            self.api.delete_collection(name)

    def max_batch_size(self) -> int:
        with errors(self.where):
            return int(self.api.get_max_batch_size())


class _Generation:
    """One local Chroma system and the calls under way on it; once retired, it is stopped when the last one ends."""

    def __init__(self, system: Any) -> None:
        self.system = system
        self.active = 0
        self.retired = False
        self._lock = threading.Lock()

    def enter(self) -> bool:
        """Count a call; False when the system is already stopped (the caller takes the current one)."""
        with self._lock:
            if self.retired and self.system is None and self.active == 0:
                return False
            self.active += 1
            return True

    def exit(self) -> None:
        with self._lock:
            self.active -= 1
            self._stop_if_idle()

    def retire(self, force: bool = False) -> None:
        with self._lock:
            self.retired = True
            if force:
                self.active = 0
            self._stop_if_idle()

    def _stop_if_idle(self) -> None:
        if self.retired and self.active == 0 and self.system is not None:
            from .memory import release_memory

            self.system.stop()
            self.system = None
            release_memory()  # the stopped index's pages go back to the OS (halved the growth measured)


class Guarded:
    """A Chroma collection whose calls are counted against their system (see :class:`_Generation`) and whose
    transport and permission failures become :class:`StoreUnavailableError` (see :func:`errors`)."""

    def __init__(self, collection: Any, client: ChromaClient, generation: _Generation) -> None:
        self._collection = collection
        self._client = client
        self._generation = generation

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._collection, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args, **kwargs):
            generation = self._generation
            while not generation.enter():  # held past a refresh: use the same collection in the current view
                fresh = self._client.collection(self._collection.name)
                self._collection, self._generation = fresh._collection, fresh._generation
                generation = self._generation
            try:
                with errors(self._client.where):
                    return getattr(self._collection, name)(*args, **kwargs)
            finally:
                generation.exit()

        return call


def _unwritable(where: str, why: str) -> StoreUnavailableError:
    return StoreUnavailableError(f"The store at {where} cannot be written ({why}): Chroma writes to its folder "
                                 "even to answer questions, so give this user write access to it, or copy it.")


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
            raise _unwritable(where, _short(message)) from exc
        raise
    except ValueError as exc:
        if "Could not connect" in str(exc):
            raise StoreUnavailableError(f"Cannot reach the Chroma server at {where}: is it running?") from exc
        raise
    except PermissionError as exc:
        raise _unwritable(where, exc.strerror) from exc
    except Exception as exc:  # noqa: BLE001 - Chroma's HTTP client raises bare Exception(body) for proxy errors
        if type(exc) is Exception and ("401" in str(exc) or "403" in str(exc)):
            raise StoreUnavailableError(f"The Chroma server at {where} refused our credentials: "
                                        "check RAG_CHROMA_TOKEN or RAG_CHROMA_HEADERS.") from exc
        raise


def _short(message: str) -> str:
    return " ".join(message.split())[:160]
