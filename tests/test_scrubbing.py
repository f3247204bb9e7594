"""The key reaches no log handler, warning summary, junit file or terminal, inside route cases and out.

The session knows the key (it is in the configured variable); the app logs it, raises it, warns
with it and echoes it inside a Basic credential. Every output a CI run keeps is searched for
every form of the key (plain, URL-encoded, base64 at each alignment), and the placeholder shows
that each line was really written.
"""

from __future__ import annotations

import pytest

from .helpers import KEY, PLACEHOLDER, assert_no_key

LEAKY_APP = '''
import base64
import logging
import os
import warnings

import pytest

log = logging.getLogger("app")
KEY = os.environ["ANYINT_API_KEY"]


@pytest.fixture(scope="module")
def settings():
    log.warning("module fixture loaded key %s", KEY)
    return KEY


@pytest.mark.route("extract", models="primary")
def test_routed(anyint_route):
    try:
        raise RuntimeError(f"gateway rejected key {KEY}")
    except RuntimeError:
        log.exception("call failed")
    warnings.warn(f"deprecated key {KEY}")


def test_plain(settings):
    log.error("plain test saw %s", settings)
    log.info("echoed credential Basic %s", base64.b64encode(b"ab:" + KEY.encode()).decode())
    warnings.warn(UserWarning(f"plain warning {KEY}"))
    print("stdout holds", KEY)


def test_fails(settings):
    logging.getLogger("vcr.cassette").info("Appending request with key %s", KEY)
    assert settings == "something else"
'''

OUTPUT_FLAGS = ("--log-cli-level=INFO", "--log-file=run.log", "--log-file-level=DEBUG", "-rA", "--junitxml=junit.xml")


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_key_reaches_no_log_warning_or_report(project, monkeypatch, workers):
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(test_app=LEAKY_APP)

    result = project.pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", *OUTPUT_FLAGS, *workers)

    result.assert_outcomes(passed=2, failed=1)
    terminal = result.stdout.str() + result.stderr.str()
    log_file = (project.root / "run.log").read_text()
    junit = (project.root / "junit.xml").read_text()
    for where, text in (("the terminal", terminal), ("--log-file", log_file), ("junit xml", junit)):
        assert_no_key(where, text)
    # Each line was written, with the placeholder where the key was.
    assert f"module fixture loaded key {PLACEHOLDER}" in terminal
    assert f"RuntimeError: gateway rejected key {PLACEHOLDER}" in terminal  # log.exception's traceback
    assert f"deprecated key {PLACEHOLDER}" in terminal and f"plain warning {PLACEHOLDER}" in terminal  # summary
    assert f"plain test saw {PLACEHOLDER}" in terminal and f"stdout holds {PLACEHOLDER}" in terminal
    assert "echoed credential Basic " in terminal
    assert f"Appending request with key {PLACEHOLDER}" in terminal
    if not workers:  # a worker's log file holds nothing: the controller writes --log-file
        assert f"RuntimeError: gateway rejected key {PLACEHOLDER}" in log_file
        assert f"plain test saw {PLACEHOLDER}" in log_file
    assert "&lt;ANYINT_API_KEY&gt;" in junit  # the failure, with the placeholder
    # pytest shortens long values in assertion messages ('live-S3cret+...9x9x9x9x9x9x9'): no piece of it stays.
    assert KEY[:12] not in terminal + junit and KEY[-12:] not in terminal + junit


UNALIGNED_BASIC = '''
import base64, logging, os

def test_basic(anyint_config):
    logging.getLogger("app").warning("echoed %s", base64.b64encode(b"user:" + os.environ["ANYINT_API_KEY"].encode()).decode())
    assert False
'''


def test_a_key_inside_base64_at_any_offset_is_scrubbed(project, monkeypatch):
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(test_app=UNALIGNED_BASIC)

    result = project.pytester.runpytest("--anyint-contracts=fail", "-rA", "--junitxml=junit.xml", "--log-file=run.log")

    result.assert_outcomes(failed=1)
    assert_no_key("the terminal", result.stdout.str())
    assert_no_key("junit xml", (project.root / "junit.xml").read_text())
    assert_no_key("--log-file", (project.root / "run.log").read_text())


def test_a_session_that_does_not_use_the_plugin_keeps_its_log_records(project, monkeypatch):
    """Without a route marker or an --anyint option the plugin installs nothing (no record factory)."""
    monkeypatch.setenv("ANYINT_API_KEY", KEY)
    project.tests(test_app="import logging\n\ndef test_plain():\n    assert logging.getLogRecordFactory() is logging.LogRecord\n")

    project.pytester.runpytest_subprocess().assert_outcomes(passed=1)  # a process of its own: nothing earlier installed


FAILS_WITH_ITS_ROUTE = '''
import pytest
from openai import OpenAI


@pytest.mark.route("extract", models="primary")
def test_route_shown(anyint_route, anyint_gateway):
    client = OpenAI(api_key=anyint_route.api_key, base_url=anyint_route.base_url, max_retries=0)
    client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "hi"}])
    assert False, "any failing assertion"
'''


def test_a_failed_recording_shows_no_piece_of_the_key_in_its_fixture_values(project, monkeypatch):
    """pytest prints a failed test's fixture values shortened in the middle (``chain=(Ch...<the
    key's last 34 characters>'``): the route target and the gateway never print the key, and the
    report scrub removes what is left of a key at such a cut."""
    from pytest_anyint.emulator import Emulator

    with Emulator(api_key=KEY) as gateway:  # a live gateway that takes the real key
        monkeypatch.setenv("ANYINT_API_KEY", KEY)
        monkeypatch.setenv("ANYINT_BASE_URL", gateway.url)
        project.tests(test_app=FAILS_WITH_ITS_ROUTE)

        result = project.pytester.runpytest_subprocess("--anyint-record=rewrite", "-p", "no:randomly", "-rA",
                                                       "--junitxml=junit.xml", "--showlocals")

    result.assert_outcomes(failed=1)
    terminal = result.stdout.str() + result.stderr.str()
    junit = (project.root / "junit.xml").read_text()
    assert "RouteTarget(" in terminal  # pytest did show the fixture's value
    for where, text in (("the terminal", terminal), ("junit xml", junit)):
        assert_no_key(where, text)
        for size in (6, 12, 24):
            assert KEY[-size:] not in text and KEY[:size] not in text, f"{size} characters of the key in {where}"


def test_a_value_cut_across_the_key_loses_both_pieces():
    from pytest_anyint import keyforms

    cut = f"chain=(Ch...{KEY[-30:]}', first={KEY[:20]}...)"

    assert keyforms.scrub_cut_pieces(cut, [KEY], PLACEHOLDER) == f"chain=(Ch...{PLACEHOLDER}', first={PLACEHOLDER}...)"
    assert keyforms.scrub_cut_pieces("a...b, x9...", [KEY], PLACEHOLDER) == "a...b, x9..."  # too short to be the key's
