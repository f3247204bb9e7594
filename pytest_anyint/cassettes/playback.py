"""Playback without vcrpy: the cassette of a case that only replays.

Replay is what CI runs on every pull request, and there vcrpy's ``Cassette`` costs what it costs
when recording: its import (wrapt, asyncio, its patchers: tens of milliseconds, and thousands of
objects that every later garbage collection walks again) and one ``Request`` object per recorded
interaction. A cassette that is only played needs neither. ``PlaybackCassette`` reads the file
through the same reader as the persister (``read_cassette``: the parse cache, every field checked,
keys kept out of the cache) and offers the part of vcrpy's ``Cassette`` the interceptor uses, with
the same matchers (``matching.match_on``) and the same rule: each recording answers once, the
first unplayed match first.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .secrets import KEPT_REQUEST_HEADERS, SECRET_HEADERS, scrub_bytes, scrub_url
from .store import read_cassette

Matcher = Callable[[Any, Any], Any]


class RecordedRequest:
    """A request as the matchers see it: vcrpy's ``Request`` interface (method, uri, body,
    headers, path, query), without its per-object cost."""

    __slots__ = ("_anyint_body", "_parsed", "body", "headers", "method", "uri")

    def __init__(
        self, method: str, uri: str, body: bytes | str | None, headers: Mapping[str, Any], body_json: Any = None
    ) -> None:
        self.method = method
        self.uri = uri
        self.body: bytes = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        if body_json is not None:  # the stored body's value: what the body matcher would parse the bytes into
            self._anyint_body = (self.body, body_json)
        # vcrpy keeps the first value of each header; the matchers only ask which names are sent.
        self.headers = {
            name: (value[0] if value else "") if isinstance(value, list) else value for name, value in headers.items()
        }
        self._parsed: urllib.parse.ParseResult | None = None

    def _uri(self) -> urllib.parse.ParseResult:
        if self._parsed is None:
            self._parsed = urllib.parse.urlparse(self.uri)  # as vcrpy parses it (``;params`` apart)
        return self._parsed

    @property
    def path(self) -> str:
        return self._uri().path

    @property
    def query(self) -> list[tuple[str, str]]:
        return sorted(urllib.parse.parse_qsl(self._uri().query))

    def __repr__(self) -> str:
        return f"<Request ({self.method}) {self.uri}>"


def stored_request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    canonical_origin: str | None,
    secrets: Sequence[str],
    placeholder: str,
    playback: bool,
) -> Any:
    """A live request as a cassette stores and matches it: under the gateway's own origin (a
    recording made against the emulator never names its random port), the kept headers only, and
    the key in no form (its header, its query parameter, its echo in a body). A ``RecordedRequest``
    for playback; vcrpy's ``Request`` when recording, since vcrpy's cassette serializes it."""
    if canonical_origin and not url.startswith(canonical_origin.rstrip("/") + "/"):
        parts = urllib.parse.urlsplit(url)
        canonical = urllib.parse.urlsplit(canonical_origin)
        url = urllib.parse.urlunsplit(parts._replace(scheme=canonical.scheme, netloc=canonical.netloc))
    url = scrub_url(url, secrets, placeholder)
    kept = {}
    for name, value in headers:
        lower = name.lower()
        if lower not in KEPT_REQUEST_HEADERS:
            continue
        if lower in SECRET_HEADERS:
            value = f"Bearer {placeholder}" if value.lower().startswith("bearer ") else placeholder
        kept[lower] = value
    if secrets and body:
        body = scrub_bytes(body, secrets, placeholder)  # usually nothing to scrub: the same bytes come back
    if playback:
        return RecordedRequest(method, url, body, kept)
    from vcr.request import Request

    return Request(method, url, body, kept)


class PlaybackCassette:
    """A cassette that answers from its recordings and never records (replay, verify, and
    ``once`` when the file holds recordings)."""

    record_mode = "none"
    write_protected = True
    dirty = False

    def __init__(
        self,
        interactions: Sequence[Mapping[str, Any]],
        metadata: Mapping[str, Any] | None,
        match_on: Sequence[Matcher],
        *,
        found: bool,
    ) -> None:
        self._match_on = tuple(match_on)
        #: (request, response) pairs in recorded order; the responses are shared with the parse
        #: cache and only read.
        self.data: list[tuple[RecordedRequest, Mapping[str, Any]]] = [
            (RecordedRequest(**i["request"], body_json=i.get("request_json")), i["response"]) for i in interactions
        ]
        self.play_counts = [0] * len(self.data)
        #: vcrpy's name for "the file was loaded". A missing file, or one with no interactions, is
        #: no cassette: the miss message says so and advises recording it (``once``).
        self.rewound = found and bool(self.data)
        #: Where vcrpy keeps a loaded cassette's metadata (the age and foreign-cassette checks read it).
        self._metadata = dict(metadata or {})

    @classmethod
    def load(cls, path: Path, match_on: Sequence[Matcher], secrets: Sequence[str] = ()) -> PlaybackCassette:
        """The cassette at ``path`` (CassetteError, one line, when it is unusable); an empty one
        when the file does not exist."""
        try:
            data = read_cassette(path, secrets)
        except FileNotFoundError:
            return cls((), None, match_on, found=False)
        return cls(data["interactions"], data["metadata"], match_on, found=True)

    def __len__(self) -> int:
        return len(self.data)

    def take(self, request: Any) -> Mapping[str, Any] | None:
        """The first unplayed recording that matches ``request``, now marked played; or None."""
        for index, (recorded, response) in enumerate(self.data):
            if self.play_counts[index]:
                continue
            for matcher in self._match_on:  # a loop, not all(...): asked for every request
                if not _outcome(matcher, request, recorded)[0]:
                    break
            else:
                self.play_counts[index] += 1
                return response
        return None

    def find_requests_with_most_matches(
        self, request: Any
    ) -> list[tuple[RecordedRequest, list[str], list[tuple[str, str | None]]]]:
        """vcrpy's answer to "which recordings come closest": those passing the most matchers (at
        least one), each with the matchers it passes and, per failing one, its difference."""
        ranked = []
        for recorded, _ in self.data:
            successes: list[str] = []
            fails: list[tuple[str, str | None]] = []
            for matcher in self._match_on:
                ok, detail = _outcome(matcher, request, recorded)
                if ok:
                    successes.append(matcher.__name__)
                else:
                    fails.append((matcher.__name__, detail))
            ranked.append((len(successes), recorded, successes, fails))
        ranked.sort(key=lambda entry: entry[0], reverse=True)
        if not ranked or ranked[0][0] < 1:
            return []
        best = ranked[0][0]
        return [(recorded, successes, fails) for count, recorded, successes, fails in ranked if count == best]


def _outcome(matcher: Matcher, request: Any, recorded: RecordedRequest) -> tuple[bool, str | None]:
    """A matcher read as vcrpy reads it: False, or an AssertionError whose text is the difference, fails."""
    try:
        return matcher(request, recorded) is not False, None
    except AssertionError as exc:
        return False, str(exc)


__all__ = ["PlaybackCassette", "RecordedRequest", "stored_request"]
