"""A reviewer's summary of a cassette change, per route × model: what ``pytest-anyint diff`` reports.

Two cassette trees (``trees``: two folders, or a git revision and the working tree) are paired by
path. For every cassette added, removed or changed, the interactions of each side are counted per
route × model (from the cassette's metadata), with their token usage, their cost at the pricing of
``anyint.yaml`` (the same prices for both sides, so a cost change is a usage change) and their
recorded latency; changed cassettes are also compared shape by shape (``findings``) and the new
side is scanned for secrets. Byte-identical cassettes are skipped unread.

The numbers are gathered here; ``pytest-anyint diff`` turns them into Markdown or JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .. import sse
from ..cassettes import CassetteError, scan_secrets
from ..config import Price
from ..families import Usage, family_for_path, stream_usage
from .findings import DriftFinding, Findings, Recorded, compare_interactions
from .trees import identity, read_for_drift

#: The route of a cassette that names none (a Models API list, a hand-made cassette).
NO_ROUTE = "(no route)"


@dataclass
class Side:
    """One side (old or new) of a route × model: what its changed cassettes recorded."""

    cassettes: int = 0
    interactions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    #: The cost of each answered call with usage, at the configured price (empty when unpriced).
    costs: list[float] = field(default_factory=list)
    #: Answered calls with usage but no price for the model in anyint.yaml.
    unpriced: int = 0
    #: The recorded time to the last byte of each interaction that has one.
    latencies: list[float] = field(default_factory=list)

    def add(self, interactions: Sequence[Recorded], price: Price | None) -> None:
        self.cassettes += 1
        self.interactions += len(interactions)
        for recorded in interactions:
            if recorded.latency_s is not None:
                self.latencies.append(recorded.latency_s)
            usage = usage_of(recorded)
            if usage is None:
                continue
            self.input_tokens += usage.input
            self.output_tokens += usage.output
            self.cached_tokens += usage.cached
            if price is None:
                self.unpriced += 1
            else:
                self.costs.append(price.cost_usd(usage.input, usage.output, usage.cached))


@dataclass
class RouteModelChange:
    """What a cassette change did to one route × model."""

    route: str
    model: str
    old: Side = field(default_factory=Side)
    new: Side = field(default_factory=Side)
    cassettes_added: int = 0
    cassettes_removed: int = 0
    cassettes_changed: int = 0
    #: Interactions with no counterpart on the other side (whole new or removed cassettes included).
    interactions_added: int = 0
    interactions_removed: int = 0
    findings: list[DriftFinding] = field(default_factory=list)

    @property
    def status_changes(self) -> list[DriftFinding]:
        return [f for f in self.findings if f.change == "status"]

    @property
    def breaking(self) -> int:
        return sum(f.breaking for f in self.findings)

    @property
    def additive(self) -> int:
        return sum(not f.breaking for f in self.findings)


@dataclass
class Review(Findings):
    """The per route × model summary of two cassette trees."""

    old_label: str
    new_label: str
    rows: dict[tuple[str, str], RouteModelChange] = field(default_factory=dict)
    findings: list[DriftFinding] = field(default_factory=list)
    #: One line per secret-looking value in a new or changed cassette (never the value itself).
    secrets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    compared: int = 0
    unchanged: int = 0

    def row(self, route: str, model: str) -> RouteModelChange:
        key = (route, model)
        found = self.rows.get(key)
        if found is None:
            found = self.rows[key] = RouteModelChange(route, model)
        return found


def usage_of(recorded: Recorded) -> Usage | None:
    """The token usage a recorded 2xx answer reports (JSON body or stream), per the family table."""
    if recorded.status is None or not 200 <= recorded.status < 300:
        return None
    family = family_for_path(recorded.path)
    if family is None:
        return None
    try:
        if sse.is_event_stream(recorded.content_type):
            return stream_usage(family, sse.json_data(sse.parse(recorded.body.decode("utf-8", "replace"))))
        body = recorded.json_body()
        if isinstance(body, list):  # a Gemini stream without alt=sse: a JSON array of chunks
            return stream_usage(family, body)
        return family.usage(body)
    except (TypeError, ValueError, AttributeError):
        return None  # a drifted usage shape: the shape comparison reports it


def review_trees(
    old: Mapping[str, bytes],
    new: Mapping[str, bytes],
    *,
    old_label: str,
    new_label: str,
    display_root: str,
    pricing: Mapping[str, Price] | None = None,
    known_secrets: Sequence[str] = (),
) -> Review:
    """Summarise the change from ``old`` to ``new`` (relative path → file bytes) per route × model."""
    review = Review(old_label, new_label)
    prices = pricing or {}

    def read(raw: bytes, where: str) -> tuple[Mapping[str, object], list[Recorded]] | None:
        try:
            return read_for_drift(raw, where)
        except CassetteError as exc:
            review.errors.append(str(exc))
        return None

    def scan(raw: bytes, display: str) -> None:
        text = raw.decode("utf-8", "replace")
        for found in scan_secrets(text, known_secrets):
            review.secrets.append(f"{display}: {found}")

    for relative in sorted(old.keys() | new.keys()):
        before, after = old.get(relative), new.get(relative)
        if before is not None and after is not None:
            review.compared += 1
            if before == after:
                review.unchanged += 1
                continue
        display = f"{display_root}/{relative}"
        if after is not None:
            scan(after, display)
        old_data = read(before, f"{display} ({old_label})") if before is not None else None
        new_data = read(after, display) if after is not None else None
        if (before is not None and old_data is None) or (after is not None and new_data is None):
            continue
        metadata = {**(old_data[0] if old_data else {}), **(new_data[0] if new_data else {})}
        test, model = identity(relative, metadata)
        row = review.row(str(metadata.get("route") or NO_ROUTE), model)
        price = prices.get(model)
        if old_data is not None:
            row.old.add(old_data[1], price)
        if new_data is not None:
            row.new.add(new_data[1], price)
        if old_data is None and new_data is not None:
            row.cassettes_added += 1
            row.interactions_added += len(new_data[1])
            review.notes.append(f"{display}: new cassette (not in {old_label})")
        elif new_data is None and old_data is not None:
            row.cassettes_removed += 1
            row.interactions_removed += len(old_data[1])
            review.notes.append(f"{display}: removed (only in {old_label})")
        elif old_data is not None and new_data is not None:
            row.cassettes_changed += 1
            drift = compare_interactions(
                old_data[1], new_data[1], test=test, model=model, cassette=display, route=row.route
            )
            row.interactions_added += drift.added
            row.interactions_removed += drift.removed
            row.findings += drift.findings
            review.findings += drift.findings
            review.notes += drift.notes
    return review
