"""Music and media faults in their own terms: the music API's codes, and task flows that fail.

The music routes answer errors with Suno's ``{"code", "msg", "data"}`` and its documented codes
(405 frequency limit, 413 text too long, 429 quota, 430 rate too high, 455 maintenance);
``envelope="native"`` sends exactly that. A media or music job fails as a poll that answers 200
with a failed task (``CREATE_TASK_FAILED``, ``GENERATE_AUDIO_FAILED``, DashScope's ``FAILED``):
``kind="task-failed"`` answers the test's polls so, and the emulator's task flows end so.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_anyint.contracts import ContractIndex
from pytest_anyint.emulator import Emulator
from pytest_anyint.envelopes import MUSIC_ERRORS
from pytest_anyint.families import FAMILIES, TaskPoll, task_poll
from pytest_anyint.faults.plan import FaultPlan
from pytest_anyint.faults.tasks import TASK_STATES, failed_task
from pytest_anyint.run.session import AnyIntSession, SessionOptions

from .helpers import running

CONFIG = """
version: 1
routes:
  song:
    family: music
    primary: V5
  clip:
    family: media
    primary: wan2.5-t2v-preview
"""
SONG = {"model": "V5", "prompt": "a song", "customMode": False, "instrumental": True, "callBackUrl": "https://example.com/cb"}
VIDEO = {"model": "wan2.5-t2v-preview", "input": {"prompt": "a cat surfing"}}
CREATE = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
POLL_PATHS = {
    "suno": ("/suno/query/task", "taskId=t-1"),
    "dashscope": ("/dashscope/v1/tasks/t-1", ""),
    "kling": ("/transtreams/kling/v1/videos/text2video/t-1", ""),
    "openai-video": ("/openai/v1/videos/t-1", ""),
}


@pytest.fixture(scope="module")
def index() -> ContractIndex:
    return ContractIndex.load()


def violations(index: ContractIndex, method: str, path: str, status: int, body: Any) -> list[str]:
    raw = json.dumps(body).encode()
    return [str(v) for v in index.validate(method=method, path=path, status=status, content_type="application/json", body=raw)]


# --------------------------------------------------------------------------- the music API's codes


@pytest.mark.parametrize("code", [405, 413, 429, 430, 455])
def test_the_music_routes_native_errors_are_suno_bodies_with_the_documented_codes(index, code):
    body = FAMILIES["music"].native_error(code, None)
    assert body == {"code": code, "msg": MUSIC_ERRORS[code], "data": None}
    assert violations(index, "POST", "/suno/generate", code, body) == []


def test_the_media_routes_native_errors_are_dashscope_bodies(index):
    body = FAMILIES["media"].native_error(429, None)
    assert body["code"] == "Throttling.RateQuota" and body["message"]
    assert violations(index, "POST", CREATE, 429, body) == []


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnyIntSession]:
    root = tmp_path_factory.mktemp("tasks")
    (root / "anyint.yaml").write_text(textwrap.dedent(CONFIG))
    session = AnyIntSession(SessionOptions(rootdir=root), environ={})
    yield session
    session.stop()


@pytest.mark.parametrize("code", [405, 413, 430, 455])
def test_an_injected_music_code_reaches_the_app_as_the_music_api_sends_it(engine, code):
    gateway = engine.gateway()
    with running(engine, "song") as (plan, trail):
        plan.inject("V5", status=code, envelope="native")
        with httpx.Client(base_url=gateway.base_url("music"), headers=gateway.headers("music")) as client:
            answer = client.post("/suno/generate", json=SONG)
    assert answer.status_code == code
    assert answer.json() == {"code": code, "msg": MUSIC_ERRORS[code], "data": None}
    assert [(c.status, c.fault) for c in trail] == [(code, code)]


def test_the_emulator_answers_the_same_music_code(engine):
    with Emulator() as emu:
        emu.fail("V5", status=430, envelope="native", times=1)
        answer = httpx.post(f"{emu.url}/suno/generate", headers=FAMILIES["music"].auth_headers(emu.api_key), json=SONG)
    assert (answer.status_code, answer.json()) == (430, {"code": 430, "msg": "Request rate too high", "data": None})


# --------------------------------------------------------------------------- failed task states


@pytest.mark.parametrize("api, state", [(api, s) for api, states in TASK_STATES.items() for s in states])
def test_each_failed_task_state_is_valid_against_its_routes_contract(index, api, state):
    path, query = POLL_PATHS[api]
    poll = task_poll("GET", path, query)
    assert poll == TaskPoll(api, "t-1")
    body = failed_task(poll, state.lower())
    assert state in json.dumps(body)
    assert violations(index, "GET", path, 200, body) == []


def test_task_polls_are_told_apart_from_creation_and_downloads():
    assert task_poll("POST", "/suno/generate") is None
    assert task_poll("POST", CREATE) is None
    assert task_poll("GET", "/openai/v1/videos/v-1/content") is None
    assert task_poll("GET", "/openai/v1/chat/completions") is None


def test_task_failed_is_checked():
    plan = FaultPlan()
    with pytest.raises(ValueError, match=r"unknown task state 'EXPLODED' for kind='task-failed'; known: generate_audio_failed"):
        plan.inject(kind="task-failed", variant="EXPLODED")
    with pytest.raises(ValueError, match=r"after_events="):
        plan.inject(kind="task-failed", after_events=1)
    with Emulator() as emu, pytest.raises(ValueError, match=r"gpt-5-mini is a model of the openai family; task-failed fails"):
        emu.fail("gpt-5-mini", kind="task-failed")


def test_the_emulators_task_flows_end_in_the_failed_state(engine):
    with Emulator() as emu:
        music, media = FAMILIES["music"].auth_headers(emu.api_key), FAMILIES["media"].auth_headers(emu.api_key)
        emu.fail("V5", kind="task-failed", variant="CREATE_TASK_FAILED", times=1)
        task_id = httpx.post(f"{emu.url}/suno/generate", headers=music, json=SONG).json()["data"]["taskId"]
        polls = [httpx.get(f"{emu.url}/suno/query/task", params={"taskId": task_id}, headers=music).json() for _ in range(2)]
        assert [p["data"]["status"] for p in polls] == ["PENDING", "CREATE_TASK_FAILED"]
        assert polls[1]["data"]["errorMessage"]
        again = httpx.post(f"{emu.url}/suno/generate", headers=music, json={**SONG, "prompt": "another"}).json()
        second = [httpx.get(f"{emu.url}/suno/query/task", params={"taskId": again["data"]["taskId"]}, headers=music).json()
                  for _ in range(2)]
        assert [p["data"]["status"] for p in second] == ["PENDING", "SUCCESS"]  # times=1: only the first task failed

        emu.fail("wan2.5-t2v-preview", kind="task-failed")
        video = httpx.post(f"{emu.url}{CREATE}", headers=media, json=VIDEO).json()["output"]["task_id"]
        states = [httpx.get(f"{emu.url}/dashscope/v1/tasks/{video}", headers=media).json()["output"] for _ in range(2)]
        assert [s["task_status"] for s in states] == ["RUNNING", "FAILED"] and states[1]["message"]


APP = '''
import time


class TaskFailed(Exception):
    pass


def make_song(client, model):
    created = client.post("/suno/generate", json={"model": model, "prompt": "a song", "customMode": False,
                                                  "instrumental": True, "callBackUrl": "https://example.com/cb"}).json()
    task_id = created["data"]["taskId"]
    for _ in range(5):
        data = client.get("/suno/query/task", params={"taskId": task_id}).json()["data"]
        if data["status"] == "SUCCESS":
            return [song["audioUrl"] for song in data["response"]["sunoData"]]
        if data["status"].endswith("_FAILED"):
            raise TaskFailed(f"{data['status']}: {data.get('errorMessage')}")
    raise TimeoutError(task_id)


def make_clip(client, model):
    path = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
    task_id = client.post(path, json={"model": model, "input": {"prompt": "a cat"}}).json()["output"]["task_id"]
    for _ in range(5):
        output = client.get(f"/dashscope/v1/tasks/{task_id}").json()["output"]
        if output["task_status"] == "SUCCEEDED":
            return output["video_url"]
        if output["task_status"] in ("FAILED", "CANCELED", "UNKNOWN"):
            raise TaskFailed(f"{output['task_status']}: {output.get('message')}")
    raise TimeoutError(task_id)
'''

TESTS = '''
import pytest

from app import TaskFailed, make_clip, make_song


@pytest.mark.route("song")
def test_song(anyint_route):
    with anyint_route.client() as client:
        assert make_song(client, anyint_route.model)


@pytest.mark.route("song")
@pytest.mark.parametrize("state", ["CREATE_TASK_FAILED", "GENERATE_AUDIO_FAILED"])
def test_song_fails(anyint_route, anyint_faults, anyint_calls, state):
    anyint_faults.inject(kind="task-failed", variant=state)
    with anyint_route.client() as client, pytest.raises(TaskFailed, match=state):
        make_song(client, anyint_route.model)
    assert [(c.method, c.source, c.fault) for c in anyint_calls][-1] == ("GET", "fault", "task-failed")


@pytest.mark.route("song")
def test_song_recorded_failing(anyint_route, anyint_emulator):
    anyint_emulator.fail(anyint_route.model, kind="task-failed", times=1)  # used when recording
    with anyint_route.client() as client, pytest.raises(TaskFailed, match="GENERATE_AUDIO_FAILED"):
        make_song(client, anyint_route.model)


@pytest.mark.route("clip")
def test_clip_fails(anyint_route, anyint_faults):
    anyint_faults.inject(kind="task-failed")
    with anyint_route.client() as client, pytest.raises(TaskFailed, match="FAILED"):
        make_clip(client, anyint_route.model)
'''


def test_an_app_polling_a_task_meets_the_failed_state_recorded_and_replayed(project):
    project.config(CONFIG)
    project.tests(app=APP, test_tasks=TESTS)
    project.record().assert_outcomes(passed=5)
    for name in project.cassettes():  # injected task failures are never recorded; the emulator's one is
        text = project.cassette(name).read_text().split("interactions:", 1)[1]
        assert "CREATE_TASK_FAILED" not in text
        assert ("GENERATE_AUDIO_FAILED" in text) == ("recorded_failing" in name)
    project.replay().assert_outcomes(passed=5)
