"""The record workflow a newcomer cannot get wrong.

A test that fails before its first gateway call leaves no cassette in the way; every "not
recorded" message names a command that works in that situation, and these tests run the advised
command, parsed from the message, and see it pass. A mismatch shows where long prompts differ;
a rewrite of an unchanged service leaves the file byte-identical; threads replaying identical
requests are each served their own recording.
"""

from __future__ import annotations

import copy
import re
import shlex

import pytest
import yaml

from .helpers import assert_output

CASSETTE = "test_app/test_extract/extract/gpt-5-mini.yaml"

APP = '''
import os
import pytest

PROMPT = {prompt!r}

@pytest.mark.route("extract", models="primary")
def test_extract(anyint_route):
    {before}
    with anyint_route.client() as client:
        response = client.post("/chat/completions",
                               json={{"model": anyint_route.model, "messages": [{{"role": "user", "content": PROMPT}}]}})
    assert response.status_code == 200
'''


def app(prompt: str = "vendor: ACME", before: str = "pass") -> str:
    return APP.format(prompt=prompt, before=before)


def advised(result: pytest.RunResult) -> list[str]:
    """The arguments of the command a "not recorded" message advises (after ``pytest``)."""
    match = re.search(r"Record it with: pytest (.+?) \(with \$ANYINT_API_KEY set, or add --anyint-emulator", result.stdout.str())
    assert match, result.stdout.str()
    return shlex.split(match.group(1))


def run_advice(project, result: pytest.RunResult) -> pytest.RunResult:
    # No key in this shell: the message's own alternative, the bundled emulator.
    return project.pytester.runpytest(*advised(result), "--anyint-emulator")


def test_a_typo_before_the_first_call_writes_no_cassette_and_the_fixed_test_records(project):
    project.tests(test_app=app(before="undefined_name  # a typo"))
    broken = project.record()
    broken.assert_outcomes(failed=1)
    assert project.cassettes() == []  # nothing recorded, nothing to stand in the way

    project.tests(test_app=app())
    project.record().assert_outcomes(passed=1)
    assert project.cassettes() == [CASSETTE]
    project.replay().assert_outcomes(passed=1)


def test_a_missing_cassette_advises_once_and_that_command_records_it(project):
    project.tests(test_app=app())
    missed = project.replay()
    missed.assert_outcomes(failed=1)
    assert advised(missed) == ["--anyint-record=once", "test_app.py::test_extract[extract-primary-gpt-5-mini]"]
    run_advice(project, missed).assert_outcomes(passed=1)
    project.replay().assert_outcomes(passed=1)


def test_an_empty_cassette_is_recorded_by_once(project):
    """A cassette with no interactions (a test that made no call, or an older version) holds
    nothing to replay: ``once`` records it instead of refusing."""
    project.tests(test_app=app())
    path = project.cassette(CASSETTE)
    path.parent.mkdir(parents=True)
    path.write_text("interactions: []\nversion: 1\n")
    missed = project.replay()
    missed.assert_outcomes(failed=1)
    assert "there is no cassette" in missed.stdout.str()
    run_advice(project, missed).assert_outcomes(passed=1)
    assert len(yaml.safe_load(path.read_text())["interactions"]) == 1


def test_a_changed_prompt_advises_a_rewrite_of_that_test_which_works(project):
    project.tests(test_app=app())
    project.record().assert_outcomes(passed=1)
    project.tests(test_app=app(prompt="vendor: Initech"))
    for refused in (project.replay(), project.record()):  # replay, and once (which keeps cassettes)
        refused.assert_outcomes(failed=1)
        assert advised(refused) == ["--anyint-record=rewrite", "test_app.py::test_extract[extract-primary-gpt-5-mini]"]
    run_advice(project, refused).assert_outcomes(passed=1)
    project.replay().assert_outcomes(passed=1)
    assert "Initech" in project.cassette(CASSETTE).read_text()


def test_the_mismatch_shows_where_long_prompts_differ(project):
    instructions = "You extract invoice fields. " * 80  # fixed instructions, then the input
    assert len(instructions) > 2000
    project.tests(test_app=app(prompt=instructions + "Input: vendor ACME, total 120.50"))
    project.record().assert_outcomes(passed=1)
    project.tests(test_app=app(prompt=instructions + "Input: vendor Initech, total 99.00"))
    result = project.replay()
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "Input: vendor Initech, total 99.00" in output  # the live side, at the difference
    assert "Input: vendor ACME, total 120.50" in output  # and the recorded side
    assert_output(result, "$.messages[0].content: …", "Initech", "(recorded …", "ACME")  # cut to the difference


def test_the_window_is_centred_on_the_first_difference():
    from pytest_anyint.cassettes import describe_body_difference

    live = {"p": "x" * 3000 + "LIVE-END"}
    recorded = {"p": "x" * 3000 + "OLD-END"}
    text = describe_body_difference(live, recorded)
    assert "LIVE-END" in text and "OLD-END" in text and len(text) < 250
    assert describe_body_difference({"p": "short a"}, {"p": "short b"}) == '$.p: "short a" (recorded "short b")'


# --------------------------------------------------------------------------- byte-identical rewrite


CHANGEABLE = '''
import json, os
import pytest

@pytest.mark.route("extract", models="primary")
def test_extract(anyint_route, request):
    answer = os.environ.get("ANSWER")
    if answer and request.config.getoption("--anyint-record"):
        body = {"id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": anyint_route.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        request.getfixturevalue("anyint_emulator").reply_with(json.dumps(body).encode())
    with anyint_route.client() as client:
        response = client.post("/chat/completions", json={"model": anyint_route.model, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
'''


def test_rewriting_an_unchanged_service_leaves_the_file_byte_identical(project, monkeypatch):
    project.tests(test_app=CHANGEABLE)
    project.record().assert_outcomes(passed=1)
    cassette = project.cassette(CASSETTE)
    first = cassette.read_bytes()
    stamp = cassette.stat().st_mtime_ns

    rewrite = ("--anyint-record=rewrite", "--anyint-emulator")
    project.pytester.runpytest(*rewrite).assert_outcomes(passed=1)
    assert cassette.read_bytes() == first and cassette.stat().st_mtime_ns == stamp  # not even rewritten

    monkeypatch.setenv("ANSWER", "a different answer")
    project.pytester.runpytest(*rewrite, "--anyint-drift=warn").assert_outcomes(passed=1)  # another shape, too
    changed = cassette.read_bytes()
    assert changed != first and b"a different answer" in changed


def test_only_volatile_parts_are_ignored():
    from pytest_anyint.volatile import stable_view

    def doc(content: str, recorded_at: str, total_s: float, request_id: str, chat_id: str) -> dict:
        return {"metadata": {"recorded_at": recorded_at, "plugin_version": "1", "route": "r"},
                "interactions": [{"request": {"uri": "u"}, "response": {
                    "status": {"code": 200}, "headers": {"x-request-id": [request_id], "content-type": ["application/json"]},
                    "body": {"json": {"id": chat_id, "created": 1, "choices": [{"message": {"content": content}}]}},
                    "timing": {"total_s": total_s}}}], "version": 1}

    base = doc("hello", "2026-01-01T00:00:00Z", 0.1, "req-1", "chatcmpl-1")
    assert stable_view(base) == stable_view(doc("hello", "2026-02-02T00:00:00Z", 0.9, "req-2", "chatcmpl-2"))
    assert stable_view(base) != stable_view(doc("hello!", "2026-01-01T00:00:00Z", 0.1, "req-1", "chatcmpl-1"))
    other_route = copy.deepcopy(base)
    other_route["metadata"]["route"] = "s"
    assert stable_view(base) != stable_view(other_route)


# --------------------------------------------------------------------------- threads


THREADED = '''
import concurrent.futures
import sys
import pytest

@pytest.mark.parametrize("run", range({runs}))
@pytest.mark.route("extract", models="primary")
def test_threads(anyint_route, run):
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        with anyint_route.client() as client:
            def ask(_):
                response = client.post("/chat/completions", json={{"model": anyint_route.model,
                                       "messages": [{{"role": "user", "content": "same question"}}]}})
                assert response.status_code == 200, response.text
                return response.json()["choices"][0]["message"]["content"]

            with concurrent.futures.ThreadPoolExecutor(20) as pool:
                answers = list(pool.map(ask, range(20)))
    finally:
        sys.setswitchinterval(0.005)
    assert sorted(answers) == sorted(f"answer {{n}}" for n in range(20)), "a recording was served twice"
'''


def test_threads_sending_identical_requests_are_each_served_their_own_recording(project):
    runs = 100
    project.tests(test_app=THREADED.format(runs=1))
    project.record().assert_outcomes(passed=0, failed=1)  # the emulator's one answer is not "answer n"
    recorded = project.cassette("test_app/test_threads/extract/gpt-5-mini__0.yaml")
    document = yaml.safe_load(recorded.read_text())
    one = document["interactions"][0]
    document["interactions"] = []
    for n in range(20):  # twenty recordings of the same request, each with its own answer
        interaction = copy.deepcopy(one)
        interaction["response"]["body"]["json"]["choices"][0]["message"]["content"] = f"answer {n}"
        document["interactions"].append(interaction)
    text = yaml.safe_dump(document, sort_keys=False)
    for run in range(runs):
        project.cassette(f"test_app/test_threads/extract/gpt-5-mini__{run}.yaml").write_text(text)
    project.tests(test_app=THREADED.format(runs=runs))
    result = project.replay("-p", "no:randomly")
    result.assert_outcomes(passed=runs)
