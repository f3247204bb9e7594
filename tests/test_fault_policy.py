"""Fault cases as a user runs them: ``faults=`` on the marker, the policy check, and buggy apps caught.

Each test builds a small user project (``project`` fixture, tests/conftest.py) whose app walks the
``extract`` route's chain (gpt-5-mini, then deepseek-v3.2-exp) with the official OpenAI SDK.
"""

from __future__ import annotations

import re
from pathlib import Path

# Imported once here, so the in-process runs below do not import them again: pytester forgets the
# modules a run imported. hypothesis's pytest plugin imports hypothesis at every terminal summary;
# httpx and httpx2 load httpcore lazily and keep its exception classes, so a second httpcore
# imported after a run would leave transport errors unmapped for every later test of the process.
import httpcore  # noqa: F401
import httpcore2  # noqa: F401
import hypothesis  # noqa: F401
import openai  # noqa: F401
import pytest

from pytest_anyint.cassettes import read_cassette
from pytest_anyint.config import DEFAULT_FALLBACK_ON, DEFAULT_NEVER_FALLBACK_ON

APP = '''
"""An invoice extractor that walks its route's chain, streaming each answer."""
import logging

import openai

log = logging.getLogger("invoices")


def recoverable(exc):
    """Rate limits, upstream 5xx, broken connections and broken answers: try the next model."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, (openai.APIConnectionError, openai.APIError, ValueError))


class Extractor:
    def __init__(self, client, chain, *, fall_back_on=recoverable, log_fallbacks=True):
        self.client, self.chain = client, chain
        self.fall_back_on, self.log_fallbacks = fall_back_on, log_fallbacks

    def ask(self, model, text):
        stream = self.client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": text}], stream=True
        )
        answer = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        if not answer:
            raise ValueError(f"{model} answered nothing")
        return answer

    def extract(self, text):
        for model, fallback in zip(self.chain, [*self.chain[1:], None]):
            try:
                return self.ask(model, text)
            except Exception as exc:
                if fallback is None or not self.fall_back_on(exc):
                    raise
                if self.log_fallbacks:
                    why = getattr(exc, "status_code", None) or type(exc).__name__
                    log.warning("extract: %s failed (%s), falling back to %s", model, why, fallback)
'''

CONFTEST = '''
import pytest
from openai import OpenAI


@pytest.fixture(scope="module")
def client(anyint_gateway):
    # Transport faults (timeout, connect, reset) would otherwise wait for the SDK's own backoff.
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)


@pytest.fixture(scope="module")
def retrying_client(anyint_gateway):
    return OpenAI(**anyint_gateway.sdk_kwargs("openai"))  # the SDK's default: two retries


@pytest.fixture
def chain(anyint_route):
    return [m.model for m in anyint_route.chain]
'''

CORRECT_TEST = '''
import openai
import pytest
from invoices import Extractor


@pytest.mark.route("extract", faults="policy")
def test_extract_survives(client, chain, anyint_scenario, anyint_calls):
    app = Extractor(client, chain)
    if anyint_scenario.expect_fallback:
        assert app.extract("vendor: ACME").startswith("deepseek-v3.2-exp")
        anyint_calls.assert_fallback(to_model="deepseek-v3.2-exp")
    else:
        with pytest.raises(openai.APIStatusError) as info:
            app.extract("vendor: ACME")
        assert info.value.status_code == anyint_scenario.fault
        anyint_calls.assert_no_fallback()
'''

POLICY_IDS = [f"extract-fault-{fault}" for fault in (*DEFAULT_FALLBACK_ON, *DEFAULT_NEVER_FALLBACK_ON)]


@pytest.fixture
def app_project(project):
    project.tests(invoices=APP, conftest=CONFTEST)
    return project


def outcome_lines(result: pytest.RunResult) -> str:
    return result.stdout.str()


# --------------------------------------------------------------------------- cases and ids


def test_policy_faults_are_one_case_each_fallback_faults_first(app_project):
    app_project.tests(test_policy=CORRECT_TEST)
    result = app_project.pytester.runpytest("--collect-only", "-q")
    lines = [line for line in result.stdout.lines if line.startswith("test_policy.py::")]
    assert lines == [f"test_policy.py::test_extract_survives[{case_id}]" for case_id in POLICY_IDS]
    assert POLICY_IDS[:7] == [f"extract-fault-{s}" for s in (429, 500, 502, 503, 504, 529, "timeout")]
    assert POLICY_IDS[-4:] == [f"extract-fault-{s}" for s in (400, 401, 403, 404)]


def test_a_fault_list_gives_its_own_cases_and_a_bad_fault_fails_collection(app_project):
    app_project.tests(
        test_listed="""
        import pytest

        @pytest.mark.route("extract", faults=[429, "timeout"])
        def test_listed(anyint_scenario, anyint_route):
            assert anyint_route.role == "primary"
        """,
        test_bad="""
        import pytest

        @pytest.mark.route("extract", faults=[503, "slow"])
        def test_bad(anyint_route):
            pass
        """,
    )
    result = app_project.pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "*test_bad.py::test_bad: route 'extract': faults=: 'slow' is neither an HTTP status nor a fault kind "
            "(timeout, connect, reset, malformed-json, truncated-stream, stream-error, empty-body; answer faults: "
            "truncated-answer, refusal, content-filter, invalid-output, empty-answer, broken-tool-call)*",
        ]
    )
    assert "test_listed.py::test_listed[extract-fault-429]" in result.stdout.lines
    assert "test_listed.py::test_listed[extract-fault-timeout]" in result.stdout.lines


def test_the_scenario_says_what_failed_and_what_the_policy_expects(app_project):
    app_project.tests(
        test_scenario="""
        import pytest

        @pytest.mark.route("extract", faults=[503, 401, "empty-body"])
        def test_fault_case(anyint_scenario, anyint_route, anyint_faults):
            expected = {503: True, 401: False, "empty-body": True}[anyint_scenario.fault]
            assert anyint_scenario.expect_fallback is expected
            assert anyint_route.model == "gpt-5-mini"
            assert [str(f) for f in anyint_faults.faults] == [
                f"{'status ' if isinstance(anyint_scenario.fault, int) else ''}{anyint_scenario.fault} on gpt-5-mini, every call"
            ]
            pytest.skip("nothing to call")

        @pytest.mark.route("extract", models="primary")
        def test_model_case(anyint_scenario):
            assert anyint_scenario is None
        """
    )
    result = app_project.replay("-q")
    result.assert_outcomes(passed=1, skipped=3)


# --------------------------------------------------------------------------- a correct app


def test_a_correct_app_passes_every_policy_case_recorded_then_replayed_and_no_fault_is_recorded(app_project):
    app_project.tests(test_policy=CORRECT_TEST)
    recorded = app_project.record("-q")
    recorded.assert_outcomes(passed=len(POLICY_IDS))
    leaves = {f"test_policy/test_extract_survives/extract/fault-{fault}.yaml" for fault in (*DEFAULT_FALLBACK_ON, *DEFAULT_NEVER_FALLBACK_ON)}
    assert leaves <= set(app_project.cassettes())
    for fault in (*DEFAULT_FALLBACK_ON, *DEFAULT_NEVER_FALLBACK_ON):
        path = app_project.cassette(f"test_policy/test_extract_survives/extract/fault-{fault}.yaml")
        interactions = read_cassette(path)["interactions"]
        models = [i["request"]["body"] for i in interactions]
        if fault in DEFAULT_NEVER_FALLBACK_ON:
            assert interactions == [], fault  # the primary only ever met the injected fault
        else:
            assert len(interactions) == 1 and b'"deepseek-v3.2-exp"' in models[0], fault
            assert [i["response"]["status"]["code"] for i in interactions] == [200]
        text = path.read_text()
        assert "anyint-fault" not in text and "req_anyint_injected" not in text and "gpt-5-mini" in text  # metadata only
    before = {leaf: app_project.cassette(leaf).read_bytes() for leaf in leaves}

    replayed = app_project.replay("-q")  # offline: faults injected again, fallbacks served from the cassettes
    replayed.assert_outcomes(passed=len(POLICY_IDS))
    assert {leaf: app_project.cassette(leaf).read_bytes() for leaf in leaves} == before


# --------------------------------------------------------------------------- buggy apps caught

BUGGY = '''
import pytest
from openai import OpenAI
from invoices import Extractor


@pytest.mark.route("extract", faults=FAULTS)
def test_extract(client, retrying_client, chain, anyint_scenario):
    app = BUGGY_APP
    assert app.extract("vendor: ACME")
'''


def buggy(faults: list[int | str], app: str) -> str:
    return BUGGY.replace("FAULTS", repr(faults)).replace("BUGGY_APP", app)


def test_an_app_that_falls_back_on_401_is_caught_in_replay_and_record(app_project):
    app_project.tests(test_buggy=buggy([401], "Extractor(client, chain, fall_back_on=lambda exc: True)"))
    message = (
        "route 'extract', fault 401: the app fell back on 401 from gpt-5-mini to deepseek-v3.2-exp: an auth failure "
        "must surface, not be masked (policy: never_fallback_on includes 401)"
    )
    # Replay, with the fallback never recorded: the policy explains why the app made an unrecorded call.
    replayed = app_project.replay()
    replayed.assert_outcomes(failed=1)
    output = outcome_lines(replayed)
    assert message in output and output.index(message) < output.index("was not recorded")
    recorded = app_project.record()
    recorded.assert_outcomes(failed=1)
    assert message in outcome_lines(recorded) and "was not recorded" not in outcome_lines(recorded)


def test_an_app_that_never_falls_back_is_caught_per_fault(app_project):
    app_project.tests(test_buggy=buggy([503, "timeout", "stream-error"], "Extractor(client, chain, fall_back_on=lambda exc: False)"))
    result = app_project.replay()
    result.assert_outcomes(failed=3)
    output = outcome_lines(result)
    for line in (
        "route 'extract', fault 503: primary gpt-5-mini returned 503, the app never tried deepseek-v3.2-exp "
        "(policy: fallback_on includes 503)",
        "route 'extract', fault timeout: primary gpt-5-mini timed out, the app never tried deepseek-v3.2-exp "
        "(policy: fallback_on includes timeout)",
        "route 'extract', fault stream-error: primary gpt-5-mini sent an error in the middle of its stream, the app "
        "never tried deepseek-v3.2-exp (policy: fallback_on includes stream-error)",
    ):
        assert line in output
    assert "InternalServerError" not in output  # the policy verdict replaces the app's own exception


def test_an_app_that_falls_back_without_logging_is_caught(app_project):
    app_project.tests(test_buggy=buggy([503, "reset"], "Extractor(client, chain, log_fallbacks=False)"))
    result = app_project.record()
    result.assert_outcomes(failed=2)
    output = outcome_lines(result)
    assert (
        "route 'extract', fault 503: the app fell back from gpt-5-mini to deepseek-v3.2-exp but no log record of the "
        "test names gpt-5-mini, deepseek-v3.2-exp and the status 503 (policy: require_fallback_log)"
    ) in output
    assert (
        "route 'extract', fault reset: the app fell back from gpt-5-mini to deepseek-v3.2-exp but no log record of "
        "the test names gpt-5-mini, deepseek-v3.2-exp (policy: require_fallback_log)"
    ) in output


def test_an_app_whose_sdk_retries_hammer_the_primary_is_caught(app_project):
    app_project.tests(test_buggy=buggy([503], "Extractor(retrying_client.with_options(max_retries=5), chain)"))
    result = app_project.record()
    result.assert_outcomes(failed=1)
    assert (
        "route 'extract', fault 503: the app called the failing gpt-5-mini 6 times in a row (gpt-5-mini ×6, then "
        "deepseek-v3.2-exp) (policy: max_attempts_per_model is 3, one call plus the SDKs' default two retries)"
    ) in outcome_lines(result)
    # The SDK's default two retries are within the policy.
    app_project.tests(test_buggy=buggy([503], "Extractor(retrying_client, chain)"))
    app_project.record().assert_outcomes(passed=1)


def test_max_attempts_per_model_is_configurable(app_project):
    app_project.config(
        """
        version: 1
        policy:
          max_attempts_per_model: 6
        routes:
          extract:
            family: openai
            primary: gpt-5-mini
            fallbacks: [deepseek-v3.2-exp]
        """
    )
    app_project.tests(test_buggy=buggy([503], "Extractor(retrying_client.with_options(max_retries=5), chain)"))
    app_project.record().assert_outcomes(passed=1)


# --------------------------------------------------------------------------- inject() and the trail


def test_injected_faults_show_in_the_trail_and_the_fallback_assertions_read_them(app_project):
    app_project.tests(
        test_inject="""
        import pytest
        from invoices import Extractor

        @pytest.mark.route("extract", models="primary")
        def test_falls_back_once(client, chain, anyint_faults, anyint_calls):
            anyint_faults.inject("gpt-5-mini", status=429, times=1)
            assert Extractor(client, chain).extract("vendor: ACME").startswith("deepseek-v3.2-exp")
            assert [(c.model, c.source, c.status, c.fault) for c in anyint_calls] == [
                ("gpt-5-mini", "fault", 429, 429),
                ("deepseek-v3.2-exp", anyint_calls[1].source, 200, None),
            ]
            anyint_calls.assert_fallback("gpt-5-mini", "deepseek-v3.2-exp")
            anyint_calls.assert_no_fallback()
        """
    )
    result = app_project.record()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected no fallback, but the app called gpt-5-mini, deepseek-v3.2-exp; calls were:",
            "*1. POST /openai/v1/chat/completions model=gpt-5-mini -> * 429*",
            "*2. POST /openai/v1/chat/completions model=deepseek-v3.2-exp -> 200 (network)",
        ]
    )
    replayed = app_project.replay()
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines(["*2. POST /openai/v1/chat/completions model=deepseek-v3.2-exp -> 200 (cassette)"])


# --------------------------------------------------------------------------- the emulator's own faults

EMULATED = '''
import openai
import pytest


@pytest.mark.route("extract", models="primary")
def test_rate_limited_once(retrying_client, anyint_route, anyint_calls, anyint_emulator):
    anyint_emulator.fail(anyint_route.model, status=429, times=1, retry_after=0.001)  # used when recording
    answer = retrying_client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content.startswith("gpt-5-mini")
    assert [(c.status, c.fault) for c in anyint_calls] == [(429, None), (200, None)]  # recorded, not injected


@pytest.mark.route("extract", models="primary")
def test_not_to_be_retried(retrying_client, anyint_route, anyint_calls, anyint_emulator):
    anyint_emulator.fail(anyint_route.model, status=503, times=1, should_retry=False, envelope="native")
    with pytest.raises(openai.InternalServerError) as info:
        retrying_client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "hi"}])
    assert info.value.body["message"].startswith("The engine is currently overloaded")
    assert [c.status for c in anyint_calls] == [503]
'''


def test_a_recorded_run_against_a_failing_emulator_records_the_real_error_answers(app_project):
    app_project.tests(test_emulated=EMULATED)
    app_project.record().assert_outcomes(passed=2)
    limited = read_cassette(app_project.cassette("test_emulated/test_rate_limited_once/extract/gpt-5-mini.yaml"))
    responses = [i["response"] for i in limited["interactions"]]
    assert [r["status"]["code"] for r in responses] == [429, 200]
    assert b'"rate_limit_exceeded"' in responses[0]["body"]["string"]
    refused = read_cassette(app_project.cassette("test_emulated/test_not_to_be_retried/extract/gpt-5-mini.yaml"))
    assert [i["response"]["headers"].get("x-should-retry") for i in refused["interactions"]] == [["false"]]
    app_project.replay().assert_outcomes(passed=2)  # offline, the recorded errors replayed, no retry of the 503


# --------------------------------------------------------------------------- the docs' examples run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "faults.md"


def test_the_examples_in_docs_faults_md_run_recorded_then_replayed(project):
    # The answer-fault section has its own worked example (tests/test_answer_faults_policy.py runs it).
    page = re.sub(r"\n## Answer faults: .*?(?=\n## )", "\n", DOCS.read_text(), flags=re.S)
    blocks = re.findall(r"```(?:python|yaml)\n(.*?)```", page, re.S)
    files = {m.group(1): block for block in blocks if (m := re.match(r"# file: (\S+)\n", block))}
    assert set(files) == {"anyint.yaml", "invoices.py", "conftest.py", "test_invoices.py"}
    snippets = [block for block in blocks if block.startswith("@pytest.mark.route(")]
    assert len(snippets) == 2  # inject() in a per-model test; a failure recorded from the emulator
    files["test_invoices.py"] += "\n\n" + "\n\n".join(snippets)
    for name, text in files.items():
        (project.root / name).write_text(text)
    cases = len(DEFAULT_FALLBACK_ON) + len(DEFAULT_NEVER_FALLBACK_ON) + 2
    project.record().assert_outcomes(passed=cases)
    project.replay().assert_outcomes(passed=cases)
