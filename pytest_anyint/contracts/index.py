"""The contract index: which schema each gateway answer must satisfy, found fast, checked once.

The shipped index (``_contracts/index.yaml``, exposed as top-level ``contracts/``) maps a route
(method, path pattern, status, streaming) to a JSON Schema, draft 2020-12. Schemas require core
keys only and leave objects open, so normal API growth is never a violation. Sets that grow
(finish reasons, stop reasons, task states) are ``x-known-values`` lists rather than ``enum``: an
unknown value is a warning, because failing on it would turn a provider's new feature into a red
build. User contract directories add entries and override shipped ones.

This module is plain library code (no pytest): the interceptor calls :meth:`ContractIndex.validate`
on every recorded or replayed answer, ``pytest-anyint check`` on every cassette. Routing results
are cached per index; validation itself lives in ``validate``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import sse
from ..families import family_for_path
from ..text import one_line
from .entries import IndexEntry, fill_placeholders, parse_entries, path_regex
from .output import OutputChecker
from .schemas import ContractError
from .shipped import shipped_entries
from .validate import Validators, is_stream, new_reporter, validate_body, validate_stream

if TYPE_CHECKING:
    from .violation import Violation


class ContractIndex:
    """The shipped contracts plus the user's, with validators compiled lazily and cached."""

    def __init__(self, entries: Sequence[IndexEntry]) -> None:
        self.entries: tuple[IndexEntry, ...] = tuple(entries)
        self._routes = [e for e in self.entries if e.kind == "response"]
        self._published = [e for e in self._routes if e.published and e.path != "*"]
        self._callbacks = {e.name: e for e in self.entries if e.kind == "callback"}
        self.validators = Validators()
        self._output = OutputChecker()
        self._entry_cache: dict[tuple[str, str, int, bool], IndexEntry | None] = {}
        self._published_cache: dict[tuple[str, str], bool] = {}

    # ---- loading

    @classmethod
    def load(cls, extra_dirs: Sequence[Path | str] = ()) -> ContractIndex:
        """The shipped index plus user contract directories; a user entry replaces a shipped one
        with the same method, path, status and stream (callbacks: the same name)."""
        merged: dict[tuple[Any, ...], IndexEntry] = {}
        for entry in shipped_entries():
            merged[entry.key] = entry
        for directory in extra_dirs:
            directory = Path(directory)
            if not directory.is_dir():
                raise ContractError(f"{directory}: contracts directory not found")
            for entry in parse_entries(directory, user=True):
                merged.pop(entry.key, None)  # re-insert so user entries win ties on specificity
                merged[entry.key] = entry
        return cls(list(merged.values()))

    def published_routes(self) -> list[str]:
        """Every published route as ``"METHOD /path/pattern"``."""
        return [e.route() for e in self._published]

    # ---- routing

    def entry_for(self, method: str, path: str, status: int, stream: bool) -> IndexEntry | None:
        """The most specific entry for an answer: concrete path over family-wide, exact status over
        class, exact stream over any, exact method over any; later (user) entries win ties."""
        path = path.split("?", 1)[0]
        cache_key = (method.upper(), path, status, stream)
        try:
            return self._entry_cache[cache_key]
        except KeyError:
            pass
        family = family_for_path(path)
        best: tuple[tuple[int, ...], IndexEntry] | None = None
        for order, entry in enumerate(self._routes):
            if not entry.matches_method(method):
                continue
            status_score = entry.matches_status(status)
            if not status_score:
                continue
            if entry.stream is not None and entry.stream != stream:
                continue
            if entry.path == "*":
                if family is None or family.name != entry.family:
                    continue
                path_score = 0
            elif entry.matches_path(path):
                path_score = 1
            else:
                continue
            score = (path_score, status_score, int(entry.stream is not None), int(entry.methods != ("*",)), order)
            if best is None or score > best[0]:
                best = (score, entry)
        found = best[1] if best else None
        if len(self._entry_cache) > 4096:
            self._entry_cache.clear()
        self._entry_cache[cache_key] = found
        return found

    def is_published(self, method: str, path: str) -> bool:
        """Whether the gateway publishes this route (some concrete index path matches it)."""
        path = path.split("?", 1)[0]
        key = (method.upper(), path)
        found = self._published_cache.get(key)
        if found is None:
            found = any(e.matches_method(method) and e.matches_path(path) for e in self._published)
            if len(self._published_cache) > 4096:
                self._published_cache.clear()
            self._published_cache[key] = found
        return found

    def closest_route(self, method: str, path: str) -> str:
        """The published route nearest to an unpublished request, e.g. ``"GET /openai/v1/models"``
        for ``/v1/models``. In order: a published route whose tail is the path (a missing family
        prefix), one the path is the start of, the most similar path (placeholders filled from the
        request, the same method preferred); when nothing is close (a guessed ``/smart-routing``),
        the family's main route for that method, which is where such a request belongs."""
        import difflib  # only for an unpublished route's message: a run that calls none never loads it

        path = path.split("?", 1)[0].rstrip("/") or "/"
        method = method.upper()
        best: tuple[tuple[int, int, float, int], IndexEntry] | None = None
        for order, entry in enumerate(self._published):
            assert entry.path is not None
            concrete = fill_placeholders(entry.path, path)
            segments = entry.path.strip("/").split("/")
            tail = max((sum("{" not in seg for seg in segments[cut:]) for cut in range(1, len(segments))
                        if path_regex("/" + "/".join(segments[cut:])).match(path)), default=0)
            prefix = int(concrete.startswith(path + "/"))
            similarity = difflib.SequenceMatcher(None, path, concrete, autojunk=False).ratio()
            same_method = int(entry.matches_method(method) and entry.methods != ("*",))
            score = (tail, prefix, round(similarity, 3) + 0.05 * same_method, -order)
            if best is None or score > best[0]:
                best = (score, entry)
        if best is None:
            return ""
        (best_tail, best_prefix, best_similarity, _), entry = best
        if not best_tail and not best_prefix and best_similarity < 0.5:
            entry = next((e for e in self._published if method in e.methods), self._published[0])
        return entry.route(method)

    # ---- validation

    def validate(self, *, method: str, path: str, status: int, content_type: str | None, body: bytes,
                 cassette: str | None = None, interaction: int | None = None, parsed: Any = None,
                 events: Sequence[sse.SSEEvent] | None = None) -> list[Violation]:
        """Every contract violation of one answer (empty when it conforms or no entry covers it).

        ``interaction`` is the human (1-based) number shown in messages. Streams are checked
        event by event plus their family's grammar; a Gemini stream without ``alt=sse`` (a JSON
        array) is checked chunk by chunk. ``parsed``: the body already parsed as JSON by the
        caller (the interceptor parses each answer once), or None; ``events``: the same for a
        stream, its ``sse.parse`` events.
        """
        stream = events is not None or is_stream(content_type, body)
        entry = self.entry_for(method, path, status, stream)
        if entry is None:
            return []
        if stream:
            return validate_stream(self.validators, entry, body, cassette, interaction, events)
        return validate_body(self.validators, entry, status=status, body=body, parsed=parsed, cassette=cassette,
                             interaction=interaction)

    def validate_document(self, name: str, body: bytes | str | Any, *, source: str | None = None) -> list[Violation]:
        """Check a payload that is not a gateway answer, e.g. the music ``suno callback`` the gateway
        POSTs to the app (bytes and str are parsed as JSON; anything else is taken as parsed)."""
        entry = self._callbacks.get(name)
        if entry is None:
            raise ContractError(f"no contract named {name!r} (known: {', '.join(sorted(self._callbacks)) or 'none'})")
        data = body
        if isinstance(body, (bytes, str)):
            try:
                data = json.loads(body)
            except ValueError as exc:
                reporter = new_reporter(entry, source, None)
                reporter.add("", "json.invalid", None, f"body is not JSON ({one_line(str(exc))})")
                return reporter.out
        assert entry.schema is not None
        errors = self.validators.errors(entry.schema, data)
        if errors is None:
            return []
        reporter = new_reporter(entry, source, None)
        reporter.schema_errors(errors)
        return reporter.out

    # ---- app-level output schema

    def check_output(self, *, family: str, model: str, body: bytes, content_type: str | None,
                     schema: dict[str, Any], schema_path: str, parsed: Any = None,
                     events: Sequence[sse.SSEEvent] | None = None) -> Violation | None:
        """Whether the model's own answer (its text, streams assembled) is JSON matching the route's
        ``output_schema``; ``parsed`` / ``events``: the body as the caller already parsed it."""
        return self._output.check(family=family, model=model, body=body, content_type=content_type,
                                  schema=schema, schema_path=schema_path, parsed=parsed, events=events)
