"""Drift findings: what changed in which recorded interaction, as a reviewer reads it.

Pairs the interactions of an old and a new recording of one cassette (by position per request)
and turns their shape differences (``shape``) into ``DriftFinding`` records naming test, model,
interaction, JSON path, old and new. The run uses ``compare_on_rewrite`` when
``--anyint-record=rewrite`` replaces a cassette.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..cassettes import header_value
from ..families import parse_json
from .shape import BREAKING, ShapeFingerprint, compare_fingerprints


# --------------------------------------------------------------------------- findings
@dataclass(frozen=True)
class DriftFinding:
    """One shape change in one recorded interaction, as a reviewer reads it."""

    test: str
    model: str
    interaction: int
    path: str
    old: str
    new: str
    kind: str  # breaking | additive
    change: str = ""
    request: str = ""
    cassette: str = ""
    route: str = ""
    #: The one-line description (filled in), for reports that show findings as text.
    message: str = ""

    def __post_init__(self) -> None:
        if not self.message:
            object.__setattr__(self, "message", self.line())

    @property
    def breaking(self) -> bool:
        return self.kind == BREAKING

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """What changed, in words: ``$.choices[].finish_reason removed (was string)``."""
        if self.change == "removed":
            return f"{self.path} removed (was {self.old})"
        if self.change == "new-key":
            return f"new key {self.path} ({self.new})"
        if self.change == "new-value":
            return f"{self.path}: new value {self.new} (before: {self.old})"
        if self.change == "grammar":
            return f"stream events changed: {self.new or '(none)'} (was {self.old or '(none)'})"
        if self.change == "status":
            return f"status changed: {self.old} → {self.new}"
        if self.change == "content-type":
            return f"content type changed: {self.old} → {self.new}"
        if self.change == "nullable":
            return f"{self.path}: type {self.old} → {self.new}"
        return f"{self.path} changed type: {self.old} → {self.new}"

    def line(self) -> str:
        """One line naming test, model, cassette, interaction, path, old and new."""
        where = f"{self.cassette} " if self.cassette else ""
        request = f" {self.request}" if self.request else ""
        return (
            f"{self.kind} drift: {self.test} (model {self.model}): {where}interaction #{self.interaction}{request}: "
            f"{self.describe()}"
        )


_UNPARSED: Any = object()


@dataclass(frozen=True)
class Recorded:
    """One interaction reduced to what drift needs."""

    method: str
    path: str
    status: int | None
    content_type: str | None
    body: bytes
    #: The body already parsed, when the cassette stores it as ``json:`` (saves a round trip).
    parsed: Any = _UNPARSED
    #: The recorded time to the last byte (``timing.total_s``), when the cassette has it.
    latency_s: float | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.method.upper(), self.path)

    def fingerprint(self) -> ShapeFingerprint:
        if self.parsed is not _UNPARSED:
            return ShapeFingerprint.of_json(self.status, self.content_type, self.parsed)
        return ShapeFingerprint.of_response(self.status, self.content_type, self.body)

    def json_body(self) -> Any:
        """The body as JSON: the ``json:`` form as stored, else parsed (None when not JSON)."""
        if self.parsed is not _UNPARSED:
            return self.parsed
        return parse_json(self.body)


def recorded_latency(response: Mapping[str, Any]) -> float | None:
    """A stored response's ``timing.total_s`` (seconds to the last byte), or None."""
    timing = response.get("timing")
    total = timing.get("total_s") if isinstance(timing, Mapping) else None
    return float(total) if isinstance(total, (int, float)) and not isinstance(total, bool) else None


def from_vcr_dicts(interactions: Iterable[Mapping[str, Any]]) -> list[Recorded]:
    """Interactions in vcrpy dict form (``cassettes.read_cassette``)."""
    out = []
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        body = response.get("body") or {}
        raw = body.get("string") if isinstance(body, Mapping) else body
        out.append(
            Recorded(
                str(request.get("method", "GET")),
                urllib.parse.urlsplit(str(request.get("uri", ""))).path,
                (response.get("status") or {}).get("code"),
                header_value(response.get("headers"), "content-type"),
                raw.encode("utf-8") if isinstance(raw, str) else (raw or b""),
                latency_s=recorded_latency(response),
            )
        )
    return out


def from_cassette(cassette: Any) -> list[Recorded]:
    """Interactions of a live vcrpy ``Cassette`` (the recording being made)."""
    out = []
    for request, response in cassette.data:
        body = response.get("body") or {}
        raw = body.get("string") if isinstance(body, Mapping) else body
        out.append(
            Recorded(
                str(request.method),
                urllib.parse.urlsplit(str(request.uri)).path,
                (response.get("status") or {}).get("code"),
                header_value(response.get("headers"), "content-type"),
                raw.encode("utf-8") if isinstance(raw, str) else (raw or b""),
            )
        )
    return out


class Findings:
    """Breaking and additive findings, split (for anything with a ``findings`` list)."""

    findings: list[DriftFinding]

    @property
    def breaking(self) -> list[DriftFinding]:
        return [f for f in self.findings if f.breaking]

    @property
    def additive(self) -> list[DriftFinding]:
        return [f for f in self.findings if not f.breaking]


@dataclass
class CassetteDrift(Findings):
    """The comparison of one cassette pair."""

    findings: list[DriftFinding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Interactions of the new recording with no counterpart in the old one, and the reverse.
    added: int = 0
    removed: int = 0


def compare_interactions(
    old: Sequence[Recorded],
    new: Sequence[Recorded],
    *,
    test: str,
    model: str,
    cassette: str = "",
    route: str = "",
) -> CassetteDrift:
    """Pair interactions by position per request (method + path) and compare their shapes."""
    result = CassetteDrift()
    pending: dict[tuple[str, str], list[tuple[int, Recorded]]] = {}
    for number, recorded in enumerate(old, start=1):
        pending.setdefault(recorded.key, []).append((number, recorded))
    for number, recorded in enumerate(new, start=1):
        queue = pending.get(recorded.key)
        request = f"{recorded.method.upper()} {recorded.path}"
        if not queue:
            result.added += 1
            result.notes.append(
                f"{cassette or test}: interaction #{number} ({request}) has no counterpart in the old recording; not compared"
            )
            continue
        _, before = queue.pop(0)
        old_print, new_print = before.fingerprint(), recorded.fingerprint()
        for change in compare_fingerprints(old_print, new_print):
            result.findings.append(
                DriftFinding(
                    test=test,
                    model=model,
                    interaction=number,
                    path=change.path,
                    old=change.old,
                    new=change.new,
                    kind=change.kind,
                    change=change.what,
                    request=request,
                    cassette=cassette,
                    route=route,
                )
            )
        if old_print.served_model and new_print.served_model and old_print.served_model != new_print.served_model:
            result.notes.append(
                f"{cassette or test}: interaction #{number} ({request}): the gateway now serves "
                f"{new_print.served_model!r} for {model} (was {old_print.served_model!r}): a model rollover, not contract drift"
            )
    for queue in pending.values():
        for number, recorded in queue:
            result.removed += 1
            result.notes.append(
                f"{cassette or test}: old interaction #{number} ({recorded.method.upper()} {recorded.path}) "
                f"was not made again in the new recording; not compared"
            )
    return result


# --------------------------------------------------------------------------- in the run (rewrite)


def compare_on_rewrite(
    old_path: Path, new_cassette: Any, *, nodeid: str, model: str, mode: str, secrets: Sequence[str] = ()
) -> tuple[list[str], list[str], list[DriftFinding]]:
    """Compare the cassette being replaced with the new recording: (problems, notes, findings).

    ``mode`` is ``--anyint-drift``: ``fail`` turns breaking drift into problems (the test fails),
    ``warn`` reports it as notes, ``off`` skips the comparison.
    """
    if mode == "off":
        return [], [], []
    from ..cassettes import CassetteError, read_cassette

    display = _display(Path(old_path))
    try:
        old_data = read_cassette(Path(old_path), secrets)  # a cassette holding a key stays out of the parse cache
    except FileNotFoundError:
        return [], [], []
    except CassetteError as exc:
        return [], [f"drift not compared: the old cassette could not be read: {exc}"], []
    metadata = old_data.get("metadata") or {}
    drift = compare_interactions(
        from_vcr_dicts(old_data["interactions"]),
        from_cassette(new_cassette),
        test=nodeid,
        model=model,
        cassette=display,
        route=str(metadata.get("route") or ""),
    )
    problems: list[str] = []
    notes = list(drift.notes)
    for finding in drift.findings:
        (problems if finding.breaking and mode == "fail" else notes).append(finding.line())
    if problems:
        problems.append(
            f"(the new recording was saved over {display}: review it with `git diff` or "
            f"`pytest-anyint drift --git HEAD`; --anyint-drift=warn reports drift without failing)"
        )
    return problems, notes, drift.findings


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
