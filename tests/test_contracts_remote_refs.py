"""Remote ``$ref``s in user schemas are never fetched: one clear line at load, naming file and ref.

Replay runs offline, so a schema that reaches for ``https://…`` would either look the host up in
the middle of a test or fail there with a traceback. Both ``output_schema`` files and the schemas
of a user's ``anyint_contracts_dir`` are refused when the route's first case starts.
"""

from __future__ import annotations

import json
import socket

import pytest

from pytest_anyint.contracts import ContractError, ContractIndex, load_output_schema

from .conftest import INI
from .helpers import APP_SCHEMA_ROUTE, OPENAI_TEST, assert_clear_failure

REMOTE = "https://schemas.example.com/invoice.json"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Any lookup or connection attempt is recorded (and refused)."""
    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network use in a test that must stay offline")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize("schema, ref", [
    ({"$ref": REMOTE}, REMOTE),
    ({"type": "object", "properties": {"total": {"$ref": REMOTE + "#/$defs/money"}}}, REMOTE + "#/$defs/money"),
    ({"$defs": {"a": {"$dynamicRef": "http://10.0.0.1/a.json"}}}, "http://10.0.0.1/a.json"),
    ({"items": {"$ref": "//cdn.example.com/x.json"}}, "//cdn.example.com/x.json"),
], ids=["root", "nested-with-fragment", "dynamic-ref", "scheme-relative"])
def test_an_output_schema_with_a_remote_ref_is_one_line_naming_file_and_ref(tmp_path, no_network, schema, ref):
    path = tmp_path / "invoice.schema.json"
    path.write_text(json.dumps(schema))
    with pytest.raises(ContractError) as caught:
        load_output_schema(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "remote $refs are never fetched" in message
    assert f"$ref {ref!r}" in message
    assert no_network == []


def test_local_refs_the_metaschema_and_own_ids_still_load(tmp_path, no_network):
    path = tmp_path / "invoice.schema.json"
    path.write_text(json.dumps({
        "$id": "urn:example:invoice", "$defs": {"money": {"type": "number"}},
        "properties": {"total": {"$ref": "urn:example:invoice#/$defs/money"},
                       "meta": {"$ref": "https://json-schema.org/draft/2020-12/schema"},
                       "tax": {"$ref": "#/$defs/money"}},
        "examples": [{"$ref": "https://example.com/data-not-schema"}],
    }))
    assert load_output_schema(path)["$id"] == "urn:example:invoice"
    assert no_network == []


def test_a_user_contracts_schema_reaching_a_remote_ref_through_a_local_file_is_named(tmp_path, no_network):
    (tmp_path / "index.yaml").write_text(
        "entries:\n- {family: openai, method: POST, path: /openai/v1/chat/completions, status: 2xx, stream: false,"
        " schema: chat.json, confidence: documented}\n")
    (tmp_path / "chat.json").write_text(json.dumps({"properties": {"usage": {"$ref": "usage.json"}}}))
    (tmp_path / "usage.json").write_text(json.dumps({"$ref": REMOTE}))
    with pytest.raises(ContractError) as caught:
        ContractIndex.load([tmp_path])
    assert str(caught.value).startswith(f"{tmp_path / 'usage.json'}: $ref {REMOTE!r} points to a remote schema")
    assert no_network == []


def test_in_a_session_the_routes_cases_error_at_setup_before_any_call(project):
    project.config(APP_SCHEMA_ROUTE)
    (project.root / "schemas").mkdir()
    (project.root / "schemas" / "invoice.schema.json").write_text(json.dumps({"$ref": REMOTE}))
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "-k", "primary")
    result.assert_outcomes(errors=1)
    assert_clear_failure(result, f"schemas/invoice.schema.json: $ref {REMOTE!r} points to a remote schema, "
                                 "and remote $refs are never fetched (replay runs offline)")
    assert project.cassettes() == []


def test_in_a_session_a_user_contracts_directory_with_a_remote_ref_errors_naming_it(project):
    contracts = project.root / "my-contracts"
    contracts.mkdir()
    (contracts / "index.yaml").write_text(
        "entries:\n- {family: openai, method: POST, path: /openai/v1/chat/completions, status: 2xx, stream: false,"
        " schema: chat.json, confidence: documented}\n")
    (contracts / "chat.json").write_text(json.dumps({"allOf": [{"$ref": REMOTE}]}))
    project.pytester.makeini(INI + "anyint_contracts_dir = my-contracts\n")
    project.tests(test_app=OPENAI_TEST)
    result = project.pytester.runpytest("-k", "primary")  # replay: nothing recorded, still one line
    assert_clear_failure(result, f"my-contracts/chat.json: $ref {REMOTE!r} points to a remote schema")
