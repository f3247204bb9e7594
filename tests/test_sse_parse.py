"""The fast path of ``sse.parse`` (streams with "\\n" line ends, one-line ``data:`` events) reads
every stream exactly as the general path does (``split_raw`` + ``parse_event``, which handles every
line ending): contracts, usage and drift all read these events, so a fast path that dropped or
changed one would pass a broken stream or fail a good one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_anyint import sse

LINES = st.sampled_from([
    "data: {}", "data:{}", "data:  two spaces", "data:", "data", "data: a:b", "data: [DONE]", "data: é",
    "event: ping", "event:x", ": a comment", "id: 3", "retry: 5", "dat: x", "datax: 1", " data: lead", "",
    'data: {"choices":[{"delta":{"content":"hi"}}]}',
])
EVENTS = st.lists(st.lists(LINES, min_size=1, max_size=3).map("\n".join), max_size=6)
ENDINGS = st.sampled_from(["", "\n", "\n\n", "\n\n\n"])


def general(text: str) -> list[tuple[str | None, str, str]]:
    events = [sse.parse_event(raw) for raw in sse.split_raw(text)]
    return [(e.event, e.data, e.raw) for e in events if e is not None]


@settings(max_examples=400, deadline=None)
@given(EVENTS, ENDINGS)
def test_fast_path_reads_what_the_general_path_reads(events: list[str], ending: str) -> None:
    text = "\n\n".join(events) + ending
    assert [(e.event, e.data, e.raw) for e in sse.parse(text)] == general(text)


def test_fast_path_events_are_ordinary_events() -> None:
    """Built without ``__init__``, they still compare, hash, print and memoize like any other."""
    (event,) = sse.parse('data: {"a": 1}\n\n')
    assert event == sse.SSEEvent(None, '{"a": 1}', 'data: {"a": 1}\n\n')
    assert hash(event) == hash(sse.SSEEvent(None, '{"a": 1}', 'data: {"a": 1}\n\n'))
    assert repr(event) == repr(sse.SSEEvent(None, '{"a": 1}', 'data: {"a": 1}\n\n'))
    assert event.json() == {"a": 1} and event.json() is event.json()
    assert "".join(e.raw for e in sse.parse("data: 1\n\nevent: x\ndata: 2\n\n: c\n\ndata: 3")) == \
        "data: 1\n\nevent: x\ndata: 2\n\ndata: 3"
