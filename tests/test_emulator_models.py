"""The emulator serves every configured model of every route, and answers what the project asks it to.

A project's own model IDs (``gemini-2.0-flash``, ``my-org/custom-model-1``) are listed and
answered under ``--anyint-emulator``, in every family, with the Models API check on; a route's
``emulator: reply:`` and ``anyint_emulator.answer_with()`` set the answer an app expects.
"""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from pytest_anyint.config import ConfigError, load_config
from pytest_anyint.emulator.server import DEFAULT_MODELS, Emulator
from pytest_anyint.families import FAMILIES

OWN_MODELS = """
version: 1
routes:
  extract:
    family: openai
    primary: my-org/custom-model-1
    fallbacks: [acme-llm-2]
  chat:
    family: anthropic
    primary: claude-custom-9
    fallbacks: [house-model-anthropic]
  summarize:
    family: gemini
    primary: gemini-2.0-flash
    fallbacks: [house-gemini-model]
  video:
    family: media
    primary: wan9-custom-video
  song:
    family: music
    primary: suno-custom-1
"""

OWN_TESTS = """
import anthropic
import openai
import pytest
from google import genai

PROMPT = "Return JSON.\\nTotal: 120.50"


@pytest.mark.route("extract")
def test_openai(anyint_gateway, anyint_route):
    client = openai.OpenAI(**anyint_gateway.sdk_kwargs("openai"), max_retries=0)
    answer = client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": PROMPT}])
    assert answer.model == anyint_route.model and '"total": 120.5' in answer.choices[0].message.content


@pytest.mark.route("chat")
def test_anthropic(anyint_gateway, anyint_route):
    client = anthropic.Anthropic(**anyint_gateway.sdk_kwargs("anthropic"), max_retries=0)
    message = client.messages.create(model=anyint_route.model, max_tokens=64, messages=[{"role": "user", "content": PROMPT}])
    assert message.content[0].text


@pytest.mark.route("summarize")
def test_gemini(anyint_gateway, anyint_route):
    client = genai.Client(**anyint_gateway.sdk_kwargs("gemini"))
    assert client.models.generate_content(model=anyint_route.model, contents=PROMPT).text
    assert "".join(c.text for c in client.models.generate_content_stream(model=anyint_route.model, contents=PROMPT))


@pytest.mark.route("video")
def test_video(anyint_route):
    with anyint_route.client() as client:
        body = {"model": anyint_route.model, "input": {"prompt": "a cat"}}
        created = client.post("/dashscope/v1/services/aigc/video-generation/video-synthesis", json=body)
        assert created.status_code == 200 and created.json()["output"]["task_status"] == "PENDING"


@pytest.mark.route("song")
def test_song(anyint_route):
    with anyint_route.client() as client:
        created = client.post("/suno/generate", json={"model": anyint_route.model, "prompt": "a song"})
        assert created.status_code == 200 and created.json()["data"]["taskId"]
"""


def test_a_project_with_its_own_model_ids_records_against_the_emulator_with_the_models_check_on(project):
    project.config(OWN_MODELS)
    project.tests(test_own=OWN_TESTS)
    result = project.record("--anyint-check-models")
    assert "not listed" not in result.stderr.str() + result.stdout.str()
    result.assert_outcomes(passed=8)
    openai_list = yaml.safe_load(project.cassette("_models/openai.yaml").read_text())
    anthropic_list = yaml.safe_load(project.cassette("_models/anthropic.yaml").read_text())
    listed = [m["id"] for i in openai_list["interactions"] for m in i["response"]["body"]["json"]["data"]]
    claude = [m["id"] for i in anthropic_list["interactions"] for m in i["response"]["body"]["json"]["data"]]
    assert {"my-org/custom-model-1", "acme-llm-2", "gemini-2.0-flash", "house-gemini-model", "wan9-custom-video"} <= set(listed)
    assert {"claude-custom-9", "house-model-anthropic"} <= set(claude)  # by the route's family, not the ID's prefix
    assert openai_list["metadata"]["listed_by"].startswith("the bundled emulator")
    project.replay("--anyint-check-models").assert_outcomes(passed=8)  # offline, from the recorded lists


def test_a_model_missing_from_an_emulator_recorded_list_is_not_called_the_gateways(project):
    project.config(OWN_MODELS)
    project.tests(test_own=OWN_TESTS)
    project.record("--anyint-check-models").assert_outcomes(passed=8)
    project.config(OWN_MODELS.replace("primary: suno-custom-1", "primary: suno-custom-1\n    fallbacks: [suno-other-2]"))
    result = project.replay("--anyint-check-models")
    err = result.stderr.str()
    assert "model 'suno-other-2' is not listed by the bundled emulator (--anyint-emulator)" in err
    assert "not listed by the gateway" not in err


def test_from_config_lists_each_model_in_its_familys_list(tmp_path):
    (tmp_path / "anyint.yaml").write_text(OWN_MODELS)
    config = load_config(tmp_path / "anyint.yaml")
    with Emulator.from_config(config) as emu:
        assert emu.models[: len(DEFAULT_MODELS)] == list(DEFAULT_MODELS)
        for family in ("openai", "anthropic"):
            path = FAMILIES[family].models_path
            ids = [m["id"] for m in httpx.get(emu.url + path, headers=FAMILIES[family].auth_headers(emu.api_key)).json()["data"]]
            if family == "openai":
                assert ids == emu.models  # the gateway-wide list
            else:
                assert ids == ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6", "claude-custom-9", "house-model-anthropic"]
        answer = httpx.post(
            emu.url + "/gemini/v1beta/models/my-org/custom-model-1:generateContent",  # an ID with a slash
            headers=FAMILIES["gemini"].auth_headers(emu.api_key),
            json={"contents": [{"parts": [{"text": "hi"}]}]},
        )
        assert answer.status_code == 200 and answer.json()["modelVersion"] == "my-org/custom-model-1"


# --------------------------------------------------------------------------- the answer an app expects

REPLY_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: gpt-5-mini
    fallbacks: [{model: claude-haiku-4-5, family: anthropic}, {model: gemini-2.5-flash, family: gemini}]
    cross_family: true
    emulator:
      reply: {vendor: ACME Corp, total: 120.50, currency: EUR}
"""

REPLY_TESTS = """
import json

import anthropic
import openai
import pytest
from google import genai


def ask(gateway, model, family):
    if family == "openai":
        client = openai.OpenAI(**gateway.sdk_kwargs("openai"), max_retries=0)
        return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "ACME, 120.50 EUR"}]).choices[0].message.content
    if family == "anthropic":
        client = anthropic.Anthropic(**gateway.sdk_kwargs("anthropic"), max_retries=0)
        return client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "ACME"}]).content[0].text
    client = genai.Client(**gateway.sdk_kwargs("gemini"))
    return client.models.generate_content(model=model, contents="ACME").text


@pytest.mark.route("extract")
def test_every_model_of_the_route_answers_the_configured_reply(anyint_gateway, anyint_route):
    answer = json.loads(ask(anyint_gateway, anyint_route.model, anyint_route.family))
    assert answer == {"vendor": "ACME Corp", "total": 120.5, "currency": "EUR"}


@pytest.mark.route("extract", models="primary")
def test_a_fixture_answer_wins_for_its_requests(anyint_gateway, anyint_route, anyint_emulator):
    anyint_emulator.answer_with({"total": 99.0}, model=anyint_route.model, times=1)
    assert json.loads(ask(anyint_gateway, anyint_route.model, "openai")) == {"total": 99.0}
    assert json.loads(ask(anyint_gateway, anyint_route.model, "openai"))["total"] == 120.5  # used up: the route's reply
"""


def test_a_routes_emulator_reply_and_answer_with_set_what_the_app_gets(project):
    project.config(REPLY_CONFIG)
    project.tests(test_reply=REPLY_TESTS)
    project.record().assert_outcomes(passed=4)
    project.replay().assert_outcomes(passed=4)  # the answers are in the cassettes


@pytest.mark.parametrize(
    "route, message",
    [
        (
            "  v:\n    family: media\n    primary: wan2.5-t2v-preview\n    emulator: {reply: x}\n",
            "routes.v.emulator.reply: a media route answers with tasks, not text; reply applies to openai, anthropic and gemini routes",
        ),
        (
            "  a:\n    family: openai\n    primary: gpt-5\n    emulator: {reply: one}\n"
            "  b:\n    family: openai\n    primary: gpt-5\n    emulator: {reply: two}\n",
            "routes.b.emulator.reply: model 'gpt-5' is also in routes.a, whose emulator.reply differs; the emulator "
            "answers by model, so give both routes the same reply",
        ),
        (
            "  a:\n    family: openai\n    primary: gpt-5\n    emulator: {answer: x}\n",
            "routes.a.emulator.answer: unknown key 'answer'; expected one of: reply",
        ),
        ("  a:\n    family: openai\n    primary: gpt-5\n    emulator: {reply: null}\n", "routes.a.emulator.reply: expected"),
    ],
)
def test_bad_emulator_settings_are_one_line(tmp_path, route, message):
    (tmp_path / "anyint.yaml").write_text("version: 1\nroutes:\n" + route)
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "anyint.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_answer_with_keeps_each_familys_shape_and_validates(tmp_path):
    with Emulator() as emu:
        emu.answer_with("plain text answer", times=2)
        body = {"model": "gpt-5-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        stream = httpx.post(emu.url + "/openai/v1/chat/completions", headers=FAMILIES["openai"].auth_headers(emu.api_key), json=body)
        pieces = [json.loads(line[6:])["choices"][0]["delta"].get("content") or "" for line in stream.text.splitlines()
                  if line.startswith("data: {") and json.loads(line[6:])["choices"]]
        assert "".join(pieces) == "plain text answer"
        with pytest.raises(ValueError, match="unknown model 'nope'"):
            emu.answer_with("x", model="nope")
        with pytest.raises(ValueError, match="times must be at least 1"):
            emu.answer_with("x", times=0)


def test_a_model_added_to_the_config_is_listed_after_recording_its_tests_with_once(project):
    project.config(OWN_MODELS)
    project.tests(test_own=OWN_TESTS)
    project.record("--anyint-check-models").assert_outcomes(passed=8)
    kept = project.cassette("_models/anthropic.yaml").read_text()
    project.config(OWN_MODELS.replace("fallbacks: [acme-llm-2]", "fallbacks: [acme-llm-2, acme-llm-3]"))
    project.record("--anyint-check-models").assert_outcomes(passed=9)  # once records the new model's case
    listed = yaml.safe_load(project.cassette("_models/openai.yaml").read_text())
    assert "acme-llm-3" in [m["id"] for i in listed["interactions"] for m in i["response"]["body"]["json"]["data"]]
    assert project.cassette("_models/anthropic.yaml").read_text() == kept  # a list that lacks nothing is kept
    project.replay("--anyint-check-models").assert_outcomes(passed=9)  # offline, and the new model is listed
