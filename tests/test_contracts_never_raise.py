"""The validator never raises: whatever an answer holds, checking it ends in violations.

Contracts run inside the app's own request (the interceptor validates every recorded or replayed
answer), so an exception there reaches the app as a bare ``TypeError`` or as a connection error the
SDK retries. Hypothesis puts arbitrary JSON at every pointer of every shipped sample and every
event of every shipped stream (and renames events); each check must return violations, each with
a JSON pointer and a one-line message.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_anyint import sse
from pytest_anyint.contracts import ContractIndex, Violation

from .contract_cases import ROUTES, expand, sample_path, stream_events

SETTINGS = settings(max_examples=int(os.environ.get("ANYINT_PROPERTY_EXAMPLES", "300")), deadline=None,
                    database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
              st.text(max_size=8), st.sampled_from(["message_start", "content_block_delta", "STOP", "text",
                                                     "response.completed", "error", "chat.completion"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def pointers(document: Any, prefix: str = "") -> list[str]:
    """Every pointer in a document, the root ("") included."""
    out = [prefix]
    if isinstance(document, dict):
        for key, value in document.items():
            out.extend(pointers(value, f"{prefix}/{key}"))
    elif isinstance(document, list):
        for number, value in enumerate(document):
            out.extend(pointers(value, f"{prefix}/{number}"))
    return out


def put(document: Any, pointer: str, value: Any) -> Any:
    if not pointer:
        return value
    document = json.loads(json.dumps(document))
    *parents, last = pointer.strip("/").split("/")
    node = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return document


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


def check_never_raises(index: ContractIndex, name: str, body: bytes) -> list[Violation]:
    method, path, status, content_type = ROUTES[name]
    found = index.validate(method=method, path=path, status=status, content_type=content_type, body=body,
                           cassette="c.yaml", interaction=1)
    for violation in found:
        assert isinstance(violation, Violation)
        assert violation.pointer == "" or violation.pointer.startswith("/"), violation
        assert "\n" not in violation.message, violation.message
    return found


@SETTINGS
@given(data=st.data())
def test_arbitrary_json_at_any_pointer_of_a_body_never_raises(index, data):
    name = data.draw(st.sampled_from(sorted(n for n in ROUTES if not n.endswith(".sse"))))
    document = json.loads(sample_path(name).read_text())
    pointer = data.draw(st.sampled_from(pointers(document)))
    value = data.draw(JSON_VALUES)
    changed = put(document, pointer, value)
    found = check_never_raises(index, name, json.dumps(changed).encode())
    # and the fast path stays sound on it: it never passes what jsonschema rejects
    method, path, status, _ = ROUTES[name]
    entry = index.entry_for(method, path, status, False)
    assert entry is not None and entry.schema is not None
    fast = index.validators.fast(entry.schema)
    if fast is not None and fast(changed) and not isinstance(changed, list):
        assert list(index.validators.validator(entry.schema).iter_errors(changed)) == [], (name, pointer, value)
        assert found == []


@SETTINGS
@given(data=st.data())
def test_arbitrary_json_at_any_pointer_of_any_stream_event_never_raises(index, data):
    name = data.draw(st.sampled_from(sorted(n for n in ROUTES if n.endswith(".sse"))))
    pieces, numbered = stream_events(sample_path(name).read_text())
    at = data.draw(st.sampled_from(numbered))
    event = sse.parse_event(pieces[at])
    assert event is not None
    document = json.loads(event.data)
    pointer = data.draw(st.sampled_from(pointers(document)))
    value = data.draw(JSON_VALUES)
    changed = pieces[at].replace(event.data, json.dumps(put(document, pointer, value)))
    if data.draw(st.booleans()) and event.event:  # an event line that no longer says what the data is
        changed = changed.replace(f"event: {event.event}", f"event: {data.draw(st.text(max_size=6)).strip() or 'x'}", 1)
    body = "".join(pieces[:at] + [changed] + pieces[at + 1:]).encode()
    check_never_raises(index, name, body)


@pytest.mark.parametrize("name, event, pointer, value", [
    ("gemini-stream.sse", 1, "/candidates", 5),  # a number where the list is (the TypeError)
    ("gemini-stream.sse", 3, "/candidates", {"0": {"finishReason": "STOP"}}),
    ("gemini-stream.sse", 3, "/promptFeedback", [1]),
    ("anthropic-stream.sse", 2, "/index", [0]),  # a list as a block index (the TypeError)
    ("anthropic-stream.sse", 8, "/index", {"a": 1}),
    ("anthropic-stream.sse", 2, "/type", ["content_block_start"]),
    ("anthropic-stream.sse", 1, "", [1, 2]),
    ("openai-chat-stream.sse", 1, "", "text"),
    ("openai-chat-stream.sse", 2, "/error", [1]),
    ("openai-responses-stream.sse", 1, "/type", {"x": 1}),
    ("openai-responses-stream.sse", 10, "/response", [None]),
    ("openai-responses-stream.sse", 10, "", None),
])
def test_the_shapes_that_crashed_the_grammars_end_in_violations(index, name, event, pointer, value):
    pieces, numbered = stream_events(sample_path(name).read_text())
    at = numbered[event - 1]
    parsed = sse.parse_event(pieces[at])
    assert parsed is not None
    changed = pieces[at].replace(parsed.data, json.dumps(put(json.loads(parsed.data), pointer, value)))
    found = check_never_raises(index, name, "".join(pieces[:at] + [changed] + pieces[at + 1:]).encode())
    assert found, "a broken event passed"


@pytest.mark.parametrize("name, pointer, value", [
    ("gemini-generate.json", "/candidates", 5),
    ("gemini-stream-array.json", "/0/candidates", 5),
    ("gemini-stream-array.json", "/1", "x"),
    ("gemini-stream-array.json", "/0/candidates/0/content", [1]),
])
def test_the_shapes_that_crashed_bodies_end_in_violations(index, name, pointer, value):
    document = json.loads(sample_path(name).read_text())
    assert check_never_raises(index, name, json.dumps(put(document, pointer, value)).encode())


def test_every_pointer_of_the_samples_is_reachable_by_the_property():
    for name in ROUTES:
        raw = sample_path(name).read_text()
        if name.endswith(".sse"):
            pieces, numbered = stream_events(raw)
            assert all(pointers(json.loads(sse.parse_event(pieces[at]).data)) for at in numbered)  # type: ignore[union-attr]
        else:
            document = json.loads(raw)
            assert all(list(expand(document, p)) for p in pointers(document) if p)
