"""The Models API check (§9): every configured model must be one the gateway lists — checked once per
session when recording, recorded into cassettes/_models/, replayable offline, and as a command."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from pytest_anyint import cli
from pytest_anyint.config import load_config
from pytest_anyint.emulator.server import Emulator
from pytest_anyint.run.models_check import ModelsCheckError, fetch_listing, replay_listing, wanted

from .conftest import BASIC_CONFIG

APP = """
import pytest

@pytest.mark.route("extract")
def test_extract(anyint_route):
    with anyint_route.client() as client:
        body = {"model": anyint_route.model, "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/chat/completions", json=body).status_code == 200
"""

SPARE_ROUTE = """
  spare:
    family: openai
    primary: gpt-5-mni
"""


def config_with(extra: str = "", base: str = BASIC_CONFIG) -> str:
    return base.replace("pricing:", extra.strip("\n") + "\npricing:", 1)


@pytest.fixture
def gateway(monkeypatch):
    """A gateway that lists only its own models (an emulator not built from the project's config)."""
    with Emulator() as emulator:
        monkeypatch.setenv("ANYINT_API_KEY", emulator.api_key)
        yield emulator


def at(gateway: Emulator, config: str = BASIC_CONFIG) -> str:
    return f"version: 1\ngateway:\n  base_url: {gateway.url}\n" + config.split("version: 1", 1)[1]


def record_live(project, *args: str) -> pytest.RunResult:
    return project.pytester.runpytest("--anyint-record=once", "-p", "no:randomly", *args)


def test_a_model_the_gateway_does_not_list_fails_the_session_naming_route_model_and_closest_ids(project, gateway):
    project.config(at(gateway, BASIC_CONFIG.replace("primary: gpt-5-mini", "primary: gpt-5-mni")))
    project.tests(test_app=APP)
    result = record_live(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert (
        "anyint.yaml: routes.extract: model 'gpt-5-mni' is not listed by the gateway "
        "(GET /openai/v1/models, cassettes/_models/openai.yaml); closest available IDs: gpt-5-mini"
    ) in err
    assert "Traceback" not in err
    assert not (project.root / "cassettes" / "test_app").exists()  # no test ran


def test_anthropic_models_are_checked_against_the_anthropic_list(project, gateway):
    project.config(at(gateway, BASIC_CONFIG.replace("primary: claude-sonnet-4-6", "primary: claude-sonet-4-6")))
    project.tests(test_app=APP)
    result = record_live(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "routes.chat: model 'claude-sonet-4-6' is not listed by the gateway (GET /anthropic/v1/models, "
        "cassettes/_models/anthropic.yaml); closest available IDs: claude-sonnet-4-6"
    ) in result.stderr.str()


def test_records_the_lists_then_replays_the_check_offline(project):
    project.tests(test_app=APP)
    project.record().assert_outcomes(passed=2)
    listing = project.cassette("_models/openai.yaml")
    assert sorted(p.name for p in listing.parent.iterdir()) == ["anthropic.yaml", "openai.yaml"]  # gemini: OpenAI's list
    data = yaml.safe_load(listing.read_text())
    assert data["metadata"]["family"] == "openai" and data["metadata"]["recorded_at"].endswith("Z")
    (interaction,) = data["interactions"]
    assert interaction["request"]["uri"] == "https://gateway.api.anyint.ai/openai/v1/models"
    assert interaction["request"]["headers"]["authorization"] == ["Bearer <ANYINT_API_KEY>"]
    assert "gpt-5-mini" in [m["id"] for m in interaction["response"]["body"]["json"]["data"]]  # reviewable
    assert "emulator-key" not in listing.read_text()

    project.config(config_with(SPARE_ROUTE))
    project.replay().assert_outcomes(passed=2)  # replay does not check unless asked
    result = project.replay("--anyint-check-models")  # offline: no emulator, no key
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (  # the list came from the emulator, and the message says so and what to do
        "routes.spare: model 'gpt-5-mni' is not listed by the bundled emulator (--anyint-emulator) (GET /openai/v1/models, "
        "cassettes/_models/openai.yaml); closest available IDs: gpt-5-mini, gpt-5; this list is the emulator's (it lists the "
        "models anyint.yaml had when it recorded): check against the gateway with: pytest-anyint models --record "
        "(with $ANYINT_API_KEY set), or record the emulator's list again with: pytest --anyint-record=once --anyint-emulator"
    ) in result.stderr.str()
    project.config(BASIC_CONFIG)
    project.replay("--anyint-check-models").assert_outcomes(passed=2)


def test_replay_check_without_a_recorded_list_says_how_to_record_it(project):
    project.tests(test_app=APP)
    result = project.replay("--anyint-check-models")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "the Models API check has no recorded models list at cassettes/_models/openai.yaml; record it with: "
        "pytest --anyint-record=once --anyint-check-models"
    ) in result.stderr.str()


def test_check_models_false_and_no_check_models_skip_the_check(project, gateway):
    project.tests(test_app=APP)
    project.config(at(gateway, config_with(SPARE_ROUTE)))
    assert record_live(project).ret == pytest.ExitCode.USAGE_ERROR
    record_live(project, "--no-anyint-check-models").assert_outcomes(passed=2)
    project.config(at(gateway, config_with(SPARE_ROUTE + "    check_models: false\n")))
    record_live(project, "--anyint-record=rewrite").assert_outcomes(passed=2)


def test_once_keeps_an_existing_list_and_rewrite_refreshes_it(project):
    project.tests(test_app=APP)
    project.record().assert_outcomes(passed=2)
    listing = project.cassette("_models/openai.yaml")
    data = yaml.safe_load(listing.read_text())
    data["metadata"]["recorded_at"] = "2020-01-01T00:00:00Z"
    listing.write_text(yaml.safe_dump(data, sort_keys=False))
    project.record().assert_outcomes(passed=2)
    assert "2020-01-01T00:00:00Z" in listing.read_text()
    kept = listing.read_bytes()
    project.record("--anyint-record=rewrite").assert_outcomes(passed=2)
    assert listing.read_bytes() == kept  # an unchanged list is not rewritten (an empty diff) ...
    project.record("--anyint-record=rewrite", "--anyint-max-age=30d").assert_outcomes(passed=2)
    assert "2020-01-01T00:00:00Z" not in listing.read_text()  # ... unless older than the age limit


def test_runs_once_per_session_on_the_xdist_controller_only(project, gateway):
    project.config(f"version: 1\ngateway:\n  base_url: {gateway.url}\n" + BASIC_CONFIG.split("version: 1", 1)[1])
    project.tests(test_app=APP + APP.replace("test_extract", "test_extract_again"))
    result = project.pytester.runpytest("-n", "2", "--anyint-record=once", "-p", "no:randomly", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=4)
    listed = [r for r in gateway.requests if r.path.endswith("/v1/models")]
    assert sorted(r.path for r in listed) == ["/anthropic/v1/models", "/openai/v1/models"]


# --------------------------------------------------------------------------- the command


def models_cli(*argv: str) -> int:
    return cli.main(["models", *argv])


def test_models_command_replays_and_records(project, gateway, monkeypatch, capsys):
    monkeypatch.chdir(project.root)
    assert models_cli() == 2
    assert "no recorded models list at cassettes/_models/openai.yaml" in capsys.readouterr().err
    monkeypatch.setenv("ANYINT_BASE_URL", gateway.url)
    assert models_cli("--record") == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: all 6 configured model(s) are listed by the gateway (/openai/v1/models: 12 listed")
    assert project.cassette("_models/openai.yaml").exists() and project.cassette("_models/anthropic.yaml").exists()
    monkeypatch.delenv("ANYINT_BASE_URL")
    monkeypatch.delenv("ANYINT_API_KEY")
    assert models_cli() == 0  # replayed from the recording, offline
    project.config(config_with(SPARE_ROUTE))
    capsys.readouterr()
    assert models_cli() == 1
    assert "routes.spare: model 'gpt-5-mni' is not listed" in capsys.readouterr().out


def test_models_command_names_the_emulator_when_it_made_the_lists(project, monkeypatch, capsys):
    # The emulator lists every configured model, a made-up one too: "listed by the gateway" would be untrue.
    project.config(config_with(SPARE_ROUTE.replace("gpt-5-mni", "gpt-9-ultra-does-not-exist")))
    project.tests(test_app=APP)
    project.record().assert_outcomes(passed=2)
    monkeypatch.chdir(project.root)
    capsys.readouterr()
    assert models_cli() == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        "ok: all 7 configured model(s) are listed by the bundled emulator (--anyint-emulator) (/openai/v1/models: "
    )
    assert "the gateway" not in out[0]
    assert out[1] == (
        "note: the emulator lists every model anyint.yaml configures, so its list says nothing about the gateway; "
        "check against the gateway with: pytest-anyint models --record (with $ANYINT_API_KEY set)"
    )


def test_models_command_setup_errors_exit_2(project, gateway, monkeypatch, capsys):
    monkeypatch.chdir(project.root)
    monkeypatch.delenv("ANYINT_API_KEY")
    assert models_cli("--record") == 2
    assert "--record needs the gateway key in $ANYINT_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ANYINT_API_KEY", "wrong-key")
    monkeypatch.setenv("ANYINT_BASE_URL", gateway.url)
    assert models_cli("--record") == 2
    assert "got HTTP 401 from GET /openai/v1/models: is $ANYINT_API_KEY right?" in capsys.readouterr().err
    assert models_cli("--config", "nope.yaml") == 2
    assert "nope.yaml: not found" in capsys.readouterr().err


# --------------------------------------------------------------------------- unit


def test_wanted_groups_models_by_the_list_that_must_name_them(tmp_path):
    path = tmp_path / "anyint.yaml"
    path.write_text(config_with(SPARE_ROUTE + "    check_models: false\n"))
    config = load_config(path, environ={})
    assert wanted(config) == {
        "openai": [("extract", "gpt-5-mini"), ("extract", "deepseek-v3.2-exp"), ("summarize", "gemini-2.5-flash"), ("summarize", "gemini-2.5-pro")],
        "anthropic": [("chat", "claude-sonnet-4-6"), ("chat", "claude-haiku-4-5")],
    }


def test_anthropic_pages_are_followed_and_recorded(tmp_path):
    pages = {
        None: {"data": [{"type": "model", "id": "claude-a"}], "has_more": True, "first_id": "claude-a", "last_id": "claude-a"},
        "claude-a": {"data": [{"type": "model", "id": "claude-b"}], "has_more": False, "first_id": "claude-b", "last_id": "claude-b"},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["x-api-key"] == "real-key"
        return httpx.Response(200, json=pages[request.url.params.get("after_id")])

    listing = fetch_listing(
        "anthropic",
        gateway_url="https://gw.example",
        api_key="real-key",
        key_env="ANYINT_API_KEY",
        canonical_origin="https://gateway.api.anyint.ai",
        cassette_dir=tmp_path,
        save=True,
        transport=httpx.MockTransport(answer),
    )
    assert listing.ids == ("claude-a", "claude-b")
    text = (tmp_path / "_models" / "anthropic.yaml").read_text()
    assert "real-key" not in text and "after_id=claude-a" in text
    assert replay_listing("anthropic", tmp_path).ids == ("claude-a", "claude-b")


def test_a_gateway_that_ignores_the_page_cursor_does_not_loop(tmp_path):
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"object": "list", "data": [{"id": "gpt-5-mini"}], "has_more": True, "last_id": "gpt-5-mini"})

    listing = fetch_listing(
        "openai", gateway_url="https://gw.example", api_key="k" * 12, key_env="ANYINT_API_KEY",
        canonical_origin="https://gateway.api.anyint.ai", cassette_dir=tmp_path, save=False,
        transport=httpx.MockTransport(answer),
    )
    assert listing.ids == ("gpt-5-mini",)
    assert seen == ["https://gw.example/openai/v1/models", "https://gw.example/openai/v1/models?after_id=gpt-5-mini"]
    assert not (tmp_path / "_models").exists()  # save=False writes nothing


def test_a_models_list_of_the_wrong_shape_is_one_clear_line(tmp_path):
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"models": [{"name": "models/x"}]}))
    with pytest.raises(ModelsCheckError) as caught:
        fetch_listing(
            "openai", gateway_url="https://gw.example", api_key="k" * 12, key_env="ANYINT_API_KEY",
            canonical_origin="https://gateway.api.anyint.ai", cassette_dir=tmp_path, save=True, transport=transport,
        )
    assert str(caught.value).startswith("GET /openai/v1/models: expected a models list with data[].id, got ")
    assert json.loads(str(caught.value).split("got ", 1)[1]) == {"models": [{"name": "models/x"}]}
    assert not (tmp_path / "_models").exists()
