"""Stream timing: recording keeps when each event arrived, the trail and the report give the time to
the first answer text (TTFT), a route may cap it, and ``--anyint-pace`` replays at the recorded pace.

Recorded with the official SDKs against the emulator, replayed offline; the pacing and budget
tests edit a recorded cassette's timing (a volatile part of it) to make the times long enough to
measure.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import yaml

from pytest_anyint.cassettes import timing

from .helpers import assert_output

CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-nano-2026-02
  chat:
    family: anthropic
    primary: claude-opus-4-9
  summarize:
    family: gemini
    primary: gemini-3.1-flash-lite
"""

APP = """
import json
import time
from pathlib import Path

import pytest
import anthropic
import openai
from google import genai

HELLO = [{"role": "user", "content": "Say hello to the team"}]


def keep(name, calls, started, arrivals):
    Path(f"trail-{name}.json").write_text(json.dumps({
        "ttft_s": [c.ttft_s for c in calls], "stream": [c.stream for c in calls],
        "arrivals": [a - started for a in arrivals],
    }))


@pytest.mark.route("extract")
def test_openai(anyint_route, anyint_calls):
    client = openai.OpenAI(base_url=anyint_route.base_url, api_key=anyint_route.api_key, max_retries=0)
    started, arrivals, text = time.monotonic(), [], ""
    for chunk in client.chat.completions.create(model=anyint_route.model, messages=HELLO, stream=True):
        arrivals.append(time.monotonic())
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text
    keep("openai", anyint_calls, started, arrivals)


@pytest.mark.route("chat")
def test_anthropic(anyint_route, anyint_calls):
    client = anthropic.Anthropic(base_url=anyint_route.base_url, api_key=anyint_route.api_key, max_retries=0)
    started, arrivals = time.monotonic(), []
    for _ in client.messages.create(model=anyint_route.model, max_tokens=64, messages=HELLO, stream=True):
        arrivals.append(time.monotonic())
    keep("anthropic", anyint_calls, started, arrivals)


@pytest.mark.route("summarize")
def test_gemini(anyint_gateway, anyint_route, anyint_calls):
    client = genai.Client(**anyint_gateway.sdk_kwargs("gemini"))
    started, arrivals = time.monotonic(), []
    for chunk in client.models.generate_content_stream(model=anyint_route.model, contents="Say hello"):
        arrivals.append(time.monotonic())
    keep("gemini", anyint_calls, started, arrivals)
"""

CASSETTES = {
    "openai": "test_app/test_openai/extract/gpt-5-nano-2026-02.yaml",
    "anthropic": "test_app/test_anthropic/chat/claude-opus-4-9.yaml",
    "gemini": "test_app/test_gemini/summarize/gemini-3.1-flash-lite.yaml",
}


def _trail(project, family: str) -> dict:
    return json.loads((project.root / f"trail-{family}.json").read_text())


def _stored(project, family: str) -> tuple[dict, list[str]]:
    """The cassette's response timing and raw events."""
    document = yaml.safe_load(project.cassette(CASSETTES[family]).read_text())
    response = document["interactions"][0]["response"]
    return response["timing"], response["body"]["sse"]


@pytest.fixture
def recorded(project):
    project.config(CONFIG)
    project.tests(test_app=APP)
    result = project.record("--no-anyint-check-models")
    result.assert_outcomes(passed=3)
    return project


def _first_text_event(family: str, events: list[str]) -> int:
    for index, raw in enumerate(events):
        data = "".join(line[5:].strip() for line in raw.splitlines() if line.startswith("data:"))
        if not data or data == "[DONE]":
            continue
        payload = json.loads(data)
        if family == "openai" and any(c.get("delta", {}).get("content") for c in payload.get("choices", [])):
            return index
        if family == "anthropic" and payload.get("type") == "content_block_delta" and payload["delta"].get("text"):
            return index
        if family == "gemini" and any(p.get("text") for c in payload.get("candidates", [])
                                      for p in c.get("content", {}).get("parts", [])):
            return index
    raise AssertionError(f"no {family} event carries text")


@pytest.mark.parametrize("family", ["openai", "anthropic", "gemini"])
def test_recording_keeps_each_event_offset_and_replay_gives_the_ttft(recorded, family):
    stored, events = _stored(recorded, family)
    offsets = [float(x) for x in stored["events_s"].split()]
    assert len(offsets) == len(events)  # one arrival per event, in order, within the call
    assert offsets == sorted(offsets) and 0 <= offsets[0] and offsets[-1] <= stored["total_s"] + 0.001
    # TTFT is the arrival of the first event that carries answer text (OpenAI's first chunk only
    # names the role), as the family reads it.
    assert stored["ttft_s"] == offsets[_first_text_event(family, events)]
    assert _trail(recorded, family)["ttft_s"] == [stored["ttft_s"]]  # the trail while recording

    result = recorded.replay("-k", f"test_{family}")
    result.assert_outcomes(passed=1)
    assert _trail(recorded, family)["ttft_s"] == [stored["ttft_s"]]  # and in offline replay


def _set_timing(project, family: str, **values: object) -> None:
    """Edit the recorded response's timing, as a reviewer may (written back without the mark)."""
    path = project.cassette(CASSETTES[family])
    document = yaml.safe_load(path.read_text())
    document["interactions"][0]["response"]["timing"].update(values)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def test_reports_show_ttft_per_route_and_model(recorded):
    result = recorded.replay("--anyint-report=report.json", "--anyint-report-md=report.md")
    result.assert_outcomes(passed=3)
    report = json.loads((recorded.root / "report.json").read_text())
    rows = {row["model"]: row for row in report["routes"]}
    for family, model in (("openai", "gpt-5-nano-2026-02"), ("gemini", "gemini-3.1-flash-lite")):
        ttft = _stored(recorded, family)[0]["ttft_s"]
        assert rows[model]["ttft_p50_s"] == ttft and rows[model]["ttft_p95_s"] == ttft
    markdown = (recorded.root / "report.md").read_text()
    assert "| TTFT p50 | TTFT p95 |" in markdown
    assert "TTFT p50" in result.stdout.str()  # the terminal table too


def test_a_route_over_max_ttft_s_fails_naming_the_call(recorded):
    recorded.config(CONFIG.replace("    primary: gpt-5-nano-2026-02\n",
                                   "    primary: gpt-5-nano-2026-02\n    max_ttft_s: 1.5\n"))
    _set_timing(recorded, "openai", ttft_s=2.25)
    result = recorded.replay("-k", "test_openai")
    result.assert_outcomes(failed=1)
    assert_output(result, "route 'extract': gpt-5-nano-2026-02 call 1 (POST /openai/v1/chat/completions) streamed "
                          "its first answer text after 2.25 s (recorded), over max_ttft_s 1.5 s set in anyint.yaml")


@pytest.mark.parametrize("family", ["openai", "anthropic"])
def test_pace_replays_a_stream_at_its_recorded_pace(recorded, family):
    # As recorded from a primary that sent its first event at once and the rest 2 s later. Only
    # lower bounds are safe on a busy machine (it can only add time), so each run is compared
    # with the others: paced, the last event can come no sooner than recorded (times the factor).
    _, events = _stored(recorded, family)
    _set_timing(recorded, family, events_s=" ".join(["0"] + ["2"] * (len(events) - 1)))

    def arrivals(*options: str) -> list[float]:
        recorded.replay("-k", f"test_{family}", *options).assert_outcomes(passed=1)
        return _trail(recorded, family)["arrivals"]

    quick, paced, halved = arrivals(), arrivals("--anyint-pace=1"), arrivals("--anyint-pace=0.5")
    assert paced[-1] >= 2.0 and halved[-1] >= 1.0  # never sooner than recorded times the factor
    assert quick[-1] - quick[0] < 1.0  # default: no waiting between events
    assert paced[-1] - paced[0] > 1.0  # paced: the first event at once, the rest as recorded
    assert halved[-1] < paced[-1] - 0.5


def test_a_bad_pace_factor_is_one_usage_line(recorded):
    result = recorded.replay("--anyint-pace=fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert ("argument --anyint-pace: 'fast' is not a pace factor: expected a number of 0 or more "
            "(1: the recorded pace, 0.5: twice as fast, 0: no waiting)") in err
    assert "Traceback" not in err


def test_hand_edited_timing_never_breaks_a_replay(recorded):
    _set_timing(recorded, "openai", events_s="soon, then later", ttft_s="quick")
    result = recorded.replay("-k", "test_openai", "--anyint-pace=1")
    result.assert_outcomes(passed=1)  # served at once, without a TTFT
    assert _trail(recorded, "openai")["ttft_s"] == [None]


# --------------------------------------------------------------------------- the parts, alone


def test_event_offsets_follow_the_chunk_that_completes_each_event():
    body = b"data: a\n\ndata: b\n\ndata: c\n\n"
    # chunk 1 ends inside event 2; chunk 2 completes events 2 and 3
    assert timing.event_offsets(body, [(12, 0.1), (len(body), 0.25)]) == [0.1, 0.25, 0.25]
    assert timing.event_offsets(body, []) == []


def test_recorded_offsets_must_describe_the_stream():
    assert timing.recorded_offsets({"events_s": "0 0.1 0.2"}, 3) == [0.0, 0.1, 0.2]
    assert timing.recorded_offsets({"events_s": "0 0.1"}, 3) is None  # another stream's count
    assert timing.recorded_offsets({"events_s": "0.2 0.1 0.3"}, 3) is None  # going back in time
    assert timing.recorded_offsets({"events_s": [0, 1, 2]}, 3) is None
    assert timing.recorded_ttft({"ttft_s": True}) is None and timing.recorded_ttft({"ttft_s": 0.2}) == 0.2


def test_a_paced_stream_is_an_httpx_stream_sync_and_async():
    body = b"data: a\n\ndata: b\n\n"
    started = time.monotonic()
    stream = timing.paced_stream(httpx, body, {"events_s": "0 0.2"}, 1.0)
    assert httpx.Response(200, stream=stream).read() == body
    assert time.monotonic() - started >= 0.2

    import asyncio

    async def read() -> bytes:
        paced = timing.paced_stream(httpx, body, {"events_s": "0 0.2"}, 0.5)
        return await httpx.Response(200, stream=paced).aread()

    assert asyncio.run(read()) == body
    assert timing.paced_stream(httpx, body, {"events_s": "0 0.2"}, 0) is None
