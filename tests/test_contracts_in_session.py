"""Contracts as a user meets them in a test run: every recorded or replayed answer is checked."""

from __future__ import annotations

import yaml

from .conftest import INI
from .helpers import CONTRACTS_CHAT_TEST as CHAT
from .helpers import assert_output


def test_a_breaking_answer_fails_with_cassette_interaction_pointer_and_rule(project):
    project.tests(test_app=CHAT.format(setup='anyint_emulator.drift("breaking", family="openai")'))
    result = project.record("-k", "primary")
    result.assert_outcomes(failed=1)
    assert_output(
        result,
        "contract: cassettes/test_app/test_extract/extract/gpt-5-mini.yaml interaction #1: /",
        "(upstream rule, openai chat.completion)",
    )


def test_contract_modes_warn_and_off(project):
    project.tests(test_app=CHAT.format(setup='anyint_emulator.drift("breaking", family="openai")'))
    warned = project.pytester.runpytest("--anyint-record=once", "--anyint-emulator", "--anyint-contracts=warn", "-k", "primary")
    warned.assert_outcomes(passed=1, warnings=warned.parseoutcomes().get("warnings", 0))
    assert_output(warned, "contract: cassettes/test_app/test_extract/extract/gpt-5-mini.yaml interaction #1")
    off = project.pytester.runpytest("--anyint-contracts=off", "-k", "primary")
    off.assert_outcomes(passed=1)
    assert "contract:" not in off.stdout.str()
    project.replay("-k", "primary").assert_outcomes(failed=1)  # the default mode fails the same cassette in replay


def test_output_schema_catches_the_fallback_that_fences_its_json(project):
    (project.root / "invoice.schema.json").write_text(
        '{"type": "object", "required": ["vendor"], "properties": {"vendor": {"type": "string"}}}'
    )
    project.config(
        """
        version: 1
        routes:
          extract:
            family: openai
            primary: gpt-5-mini
            fallbacks: [deepseek-v3.2-exp]
            output_schema: invoice.schema.json
        """
    )
    project.tests(
        test_app=CHAT.format(setup='anyint_emulator.quirks["deepseek-v3.2-exp"] = "fenced-json"').replace(
            '"vendor: ACME"', '"Return JSON.\\nvendor: ACME"'
        )
    )
    result = project.record()
    result.assert_outcomes(passed=1, failed=1)
    assert_output(
        result,
        "test_extract[extract-fallback1-deepseek-v3.2-exp]",
        "route 'extract': cassettes/test_app/test_extract/extract/deepseek-v3.2-exp.yaml interaction #1: "
        "model deepseek-v3.2-exp: the answer is fenced in ```json",
        "output_schema invoice.schema.json needs a bare JSON document",
    )
    project.replay().assert_outcomes(passed=1, failed=1)  # the same verdict offline


def test_unpublished_routes_fail_naming_the_closest_published_one(project):
    project.tests(
        test_app="""
        import pytest

        @pytest.mark.route("extract", models="primary")
        def test_guess(anyint_route, anyint_gateway):
            import httpx
            with httpx.Client(headers=anyint_route.headers) as client:
                client.get(anyint_gateway.url + "/v1/models")
        """
    )
    result = project.record()
    result.assert_outcomes(failed=1)
    assert_output(result, "GET /v1/models is not a published gateway route; the closest published route is GET /openai/v1/models")
    assert project.cassettes() == []  # a refused request never reaches the network, nor a cassette


STREAMS = """
import pytest

@pytest.mark.route("{route}", models="primary")
def test_stream(anyint_route, anyint_emulator):
    {setup}
    with anyint_route.client() as client:
        client.post("{path}", json={body}).read()
"""


def _stream_project(project, route: str, path: str, body: str, setup: str = "pass") -> None:
    project.tests(test_app=STREAMS.format(route=route, path=path, body=body, setup=setup))


def test_openai_stream_without_done_is_reported_as_such(project):
    _stream_project(project, "extract", "/chat/completions",
                    '{"model": anyint_route.model, "stream": True, "messages": [{"role": "user", "content": "x"}]}')
    project.record().assert_outcomes(passed=1)
    cassette = project.cassette("test_app/test_stream/extract/gpt-5-mini.yaml")
    data = yaml.safe_load(cassette.read_text())
    events = data["interactions"][0]["response"]["body"]["sse"]
    assert events[-1].startswith("data: [DONE]")
    data["interactions"][0]["response"]["body"]["sse"] = events[:-1]
    cassette.write_text(yaml.safe_dump(data, sort_keys=False))
    result = project.replay()
    result.assert_outcomes(failed=1)
    assert_output(result, "gpt-5-mini.yaml interaction #1", "[DONE]")


def test_anthropic_stream_missing_message_stop_is_reported_as_such(project):
    _stream_project(project, "chat", "/v1/messages",
                    '{"model": anyint_route.model, "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": "x"}]}')
    project.record().assert_outcomes(passed=1)
    cassette = project.cassette("test_app/test_stream/chat/claude-sonnet-4-6.yaml")
    data = yaml.safe_load(cassette.read_text())
    events = data["interactions"][0]["response"]["body"]["sse"]
    data["interactions"][0]["response"]["body"]["sse"] = [e for e in events if "message_stop" not in e]
    cassette.write_text(yaml.safe_dump(data, sort_keys=False))
    result = project.replay()
    result.assert_outcomes(failed=1)
    assert_output(result, "claude-sonnet-4-6.yaml interaction #1", "message_stop")


def test_anthropic_error_event_after_200_is_reported_as_such(project):
    _stream_project(
        project, "chat", "/v1/messages",
        '{"model": anyint_route.model, "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": "x"}]}',
        setup='anyint_emulator.fail(anyint_route.model, kind="stream-error", times=1)',
    )
    result = project.record()
    result.assert_outcomes(failed=1)
    assert_output(result, "claude-sonnet-4-6.yaml interaction #1", "error event", "overloaded_error")


def test_user_contracts_override_shipped_ones_and_assumed_rules_warn_unless_strict(project):
    contracts = project.root / "my_contracts"
    contracts.mkdir()
    (contracts / "strict-chat.json").write_text(
        '{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["audit_id"]}'
    )
    (contracts / "index.yaml").write_text(
        "version: 1\nentries:\n"
        "  - {family: openai, name: audited chat, method: POST, path: /openai/v1/chat/completions,\n"
        "     status: 2xx, stream: false, schema: strict-chat.json, confidence: assumed}\n"
    )
    project.pytester.makeini(INI + "anyint_contracts_dir = my_contracts\n")
    project.tests(test_app=CHAT.format(setup="pass"))
    warned = project.record("-k", "primary")
    warned.assert_outcomes(passed=1, warnings=1)
    assert_output(warned, "audit_id", "(assumed rule, openai audited chat)")
    strict = project.pytester.runpytest("--anyint-contracts=strict", "-k", "primary")
    strict.assert_outcomes(failed=1)
    assert_output(strict, "audit_id", "(assumed rule, openai audited chat)")
