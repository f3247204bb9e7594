"""Contract checking is thread-safe: an app's thread pool may validate its first answers at once.

Validators are compiled lazily, on the first answer a schema meets. When the first route test of a
session fans out over a thread pool, twenty threads ask for the same not-yet-built check at the
same moment; none may get a half-built one (it raised ``TypeError: 'NoneType' object is not
callable`` inside the app's request).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from pytest_anyint.contracts import ContractIndex

from .contract_cases import ROUTES, sample_path

THREADS = 20


def _hammer(index: ContractIndex, names: list[str]) -> list[object]:
    """Each of THREADS threads validates its sample at the same instant; what each got back."""
    barrier = threading.Barrier(THREADS)
    bodies = {name: sample_path(name).read_bytes() for name in set(names)}

    def one(number: int) -> object:
        name = names[number % len(names)]
        method, path, status, content_type = ROUTES[name]
        barrier.wait()
        try:
            return index.validate(method=method, path=path, status=status, content_type=content_type,
                                  body=bodies[name])
        except Exception as exc:  # the failure under test: report it, do not lose it in a thread
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


@pytest.mark.parametrize("names", [
    ["anthropic-stream.sse"],  # identical answers: every thread wants the same checks
    ["anthropic-message.json", "anthropic-stream.sse", "openai-responses-stream.sse", "gemini-stream.sse",
     "openai-chat-completion.json", "gemini-stream-array.json"],  # schemas that share referenced files
], ids=["identical", "mixed"])
def test_twenty_threads_on_a_cold_index_all_get_a_finished_validator(names):
    for _ in range(15):  # a fresh, cold index each round
        results = _hammer(ContractIndex.load(), names)
        failures = [r for r in results if not isinstance(r, list)]
        assert not failures, f"{len(failures)} of {THREADS} threads raised: {failures[:3]!r}"
        assert all(r == [] for r in results)


THREADED_APP = """
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from anthropic import Anthropic

from pytest_anyint.contracts import gate as contracts


@pytest.fixture(autouse=True)
def cold_contracts():
    contracts._SESSION_INDEXES.clear()  # every run starts cold, as a fresh process does


@pytest.mark.route("chat")
def test_fan_out(anyint_route, anyint_gateway):
    client = Anthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0)

    def ask(number):
        with client.messages.stream(model=anyint_route.model, max_tokens=64,
                                    messages=[{"role": "user", "content": f"question {number}"}]) as stream:
            return stream.get_final_message().content

    with ThreadPoolExecutor(int(os.environ.get("FAN_OUT", "1"))) as pool:
        answers = list(pool.map(ask, range(20)))
    assert len(answers) == 20
"""

ANTHROPIC_CONFIG = """
version: 1
routes:
  chat:
    family: anthropic
    primary: claude-haiku-4-5
"""


def test_a_route_test_fanning_out_over_twenty_threads_replays_green_run_after_run(project, monkeypatch):
    """Twenty distinct requests (cassette playback of identical ones from threads is vcrpy's own
    matter), recorded one by one, replayed from twenty threads, each run on a cold index."""
    project.config(ANTHROPIC_CONFIG)
    project.tests(test_app=THREADED_APP)
    project.record().assert_outcomes(passed=1)
    monkeypatch.setenv("FAN_OUT", "20")
    for run in range(4):
        result = project.replay()
        assert "NoneType" not in result.stdout.str(), f"run {run + 1}"
        result.assert_outcomes(passed=1)
