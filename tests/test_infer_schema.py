"""``pytest-anyint infer-schema ROUTE``: an output_schema from the primary's recorded answers, to
which every fallback of the route is then held."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_anyint.cli import main
from pytest_anyint.contracts.infer import InferError, SchemaInference

from .helpers import interaction, write_cassette

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_CASSETTES = REPO / "cassettes"


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example app's anyint.yaml and app contracts, copied where a test may edit them."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "contracts", project / "contracts")
    shutil.copy(REPO / "examples" / "anyint.yaml", project / "anyint.yaml")
    monkeypatch.chdir(project)
    return project


def _infer(*args: str) -> int:
    return main(["infer-schema", *args, "--config", "anyint.yaml", "--cassette-dir", str(EXAMPLE_CASSETTES)])


def test_on_the_examples_it_writes_a_schema_the_fallbacks_are_then_checked_against(examples, capsys):
    assert _infer("extract") == 0
    out = capsys.readouterr().out
    written = examples / "contracts" / "extract.schema.json"
    schema = json.loads(written.read_text())
    # the keys every one of gpt-5-mini's invoices has are required; the numbers are numbers
    assert set(schema["required"]) >= {"invoice_number", "vendor", "issue_date", "currency", "total"}
    assert schema["properties"]["total"]["type"] in ("number", "integer", ["integer", "number"])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert out.startswith("wrote contracts/extract.schema.json: the JSON Schema of ")
    assert "answer(s) of gpt-5-mini (route extract, " in out
    suggested = next(line.strip() for line in out.splitlines() if line.strip().startswith("output_schema:"))
    assert suggested == "output_schema: contracts/extract.schema.json"

    # Set as the route's output_schema (the line the command printed), it holds every fallback:
    config = examples / "anyint.yaml"
    config.write_text(config.read_text().replace("output_schema: contracts/app/invoice.schema.json", suggested))
    assert main(["check", str(EXAMPLE_CASSETTES / "examples"), "--config", "anyint.yaml"]) == 0
    assert "no problems" in capsys.readouterr().out

    # ... and a fallback that leaves out a key the primary always sends fails, naming the model.
    answer = {"invoice_number": "INV-1", "vendor": "ACME", "customer": "Example AG", "issue_date": "2025-03-04",
              "due_date": "2025-04-03", "currency": "EUR", "subtotal": 1.0, "tax": 0.0}
    assert set(answer) >= set(schema["required"]) - {"total"}
    chat = {"id": "c", "object": "chat.completion", "created": 1, "model": "deepseek-v3.2-exp",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(answer)},
                         "finish_reason": "stop", "logprobs": None}]}
    recorded = interaction(body={"json": chat})
    recorded["request"]["body"]["json"]["model"] = "deepseek-v3.2-exp"
    broken = write_cassette(examples / "more" / "test_app" / "test_x" / "extract" / "deepseek-v3.2-exp.yaml",
                            [recorded])
    assert main(["check", str(examples / "more"), "--config", "anyint.yaml"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(str(broken.name) in line and "model deepseek-v3.2-exp" in line and "/total" in line
               and "required key is missing" in line for line in lines), lines


def test_an_existing_file_is_never_replaced_without_force(examples, capsys):
    target = examples / "contracts" / "extract.schema.json"
    target.write_text("{}\n")
    assert _infer("extract") == 2
    err = capsys.readouterr().err.strip()
    assert err == ("pytest-anyint infer-schema: contracts/extract.schema.json: exists; pass --force to replace it, "
                   "or -o another file")
    assert target.read_text() == "{}\n"
    assert _infer("extract", "--force") == 0
    assert "invoice_number" in json.loads(target.read_text())["required"]


def test_a_route_without_json_answers_is_one_clear_line(examples, capsys):
    assert _infer("chat") == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("pytest-anyint infer-schema: route 'chat': none of the ")
    assert "recorded answer(s) of claude-sonnet-4-6 is a JSON document (first: " in line
    assert "infer-schema needs a route whose model answers with JSON" in line
    assert captured.out == "" and not (examples / "contracts" / "chat.schema.json").exists()


def test_a_route_without_recordings_says_how_to_record_them(examples, tmp_path, capsys):
    empty = tmp_path / "no-cassettes"
    empty.mkdir()
    assert main(["infer-schema", "extract", "--config", "anyint.yaml", "--cassette-dir", str(empty)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ("pytest-anyint infer-schema: route 'extract': no recorded answer of gpt-5-mini was found; "
                   "record them first: pytest --anyint-record=once -k extract")


@pytest.mark.parametrize("args, message", [
    (["extrct"], "routes: no route 'extrct' (did you mean 'extract'?)"),
    (["extract", "--model", "gpt-4o"], "--model gpt-4o: not a model of route 'extract' (its chain: gpt-5-mini, "
                                       "deepseek-v3.2-exp, gemini-2.5-flash)"),
])
def test_usage_errors_are_one_line_and_exit_2(examples, capsys, args, message):
    assert _infer(*args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pytest-anyint infer-schema: ") and message in err and "\n" not in err


def test_print_to_standard_output_with_dash(examples, capsys):
    assert _infer("extract", "--model", "deepseek-v3.2-exp", "-o", "-") == 0
    schema = json.loads(capsys.readouterr().out)
    assert "deepseek-v3.2-exp" in schema["description"]
    assert not (examples / "contracts" / "extract.schema.json").exists()


def _chat(content: str) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}).encode()


def _stream(*pieces: str) -> bytes:
    events = [json.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]}) for piece in pieces]
    return "".join(f"data: {e}\n\n" for e in events).encode() + b"data: [DONE]\n\n"


def test_keys_in_every_answer_are_required_and_a_stream_counts_as_its_text():
    inference = SchemaInference("extract", "gpt-5-mini")
    assert inference.add(family="openai", body=_chat('{"total": 1, "vendor": "A"}'),
                         content_type="application/json", where="a")
    assert inference.add(family="openai", body=_stream('{"total": ', '2.5, "note": "x"}'),
                         content_type="text/event-stream", where="b")
    assert not inference.add(family="openai", body=_chat("Sure! The total is 3."), content_type="application/json",
                             where="c")
    schema = inference.schema()
    assert schema["required"] == ["total"]
    assert schema["properties"]["total"] == {"type": "number"}
    assert schema["properties"]["vendor"] == {"type": "string"}
    assert inference.documents == 2 and inference.not_json == [("c", '"Sure! The total is 3."')]


def test_no_answers_at_all_is_an_error_not_an_empty_schema():
    with pytest.raises(InferError, match="no recorded answer of gpt-5-mini was found"):
        SchemaInference("extract", "gpt-5-mini").schema()


# --------------------------------------------------------------------------- end to end, in a real pytest session

E2E_CONFIG = """
version: 1
routes:
  extract:
    family: openai
    primary: acme-json-1
    fallbacks: [acme-json-2]
    emulator:
      reply: {vendor: ACME Corp, total: 120.50, currency: EUR}
"""

E2E_TEST = """
import json

import pytest
from openai import OpenAI


@pytest.mark.route("extract")
def test_extract(anyint_gateway, anyint_route):
    client = OpenAI(api_key=anyint_gateway.api_key, base_url=anyint_gateway.base_url("openai"), max_retries=0)
    answer = client.chat.completions.create(model=anyint_route.model, messages=[{"role": "user", "content": "ACME"}])
    assert json.loads(answer.choices[0].message.content)["vendor"] == "ACME Corp"
"""


def test_a_replay_holds_the_fallback_to_the_schema_inferred_from_the_primary(project, monkeypatch, capsys):
    project.config(E2E_CONFIG)
    project.tests(test_app=E2E_TEST)
    project.record().assert_outcomes(passed=2)
    monkeypatch.chdir(project.root)
    assert main(["infer-schema", "extract"]) == 0
    suggested = next(line.strip() for line in capsys.readouterr().out.splitlines()
                     if line.strip().startswith("output_schema:"))
    config = project.root / "anyint.yaml"
    config.write_text(config.read_text().replace("    emulator:", f"    {suggested}\n    emulator:"))
    project.replay().assert_outcomes(passed=2)  # the fallback answers what the primary does

    # The fallback's recorded answer loses a key the primary always sends: its case fails, naming it.
    (fallback,) = [p for p in (project.root / "cassettes").rglob("acme-json-2.yaml")]
    text = fallback.read_text()
    assert text.count("120.5") == 1, text
    fallback.write_text(text.replace('"total": 120.5, ', "").replace('\\"total\\": 120.5, ', ""))
    result = project.replay()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*model acme-json-2: the answer breaks output_schema contracts/extract.schema.json "
                                 "at /total: required key is missing*"])
