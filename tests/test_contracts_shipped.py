"""The shipped contract index loads on a cold process without parsing YAML, and never goes stale.

A fresh CI clone has no parse cache, so the shipped ``index.yaml`` is read from its committed
JSON form; an ``index.yaml`` edited without making that form again is still the index in force.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import yaml

from pytest_anyint.contracts import SHIPPED_DIR, ContractIndex, shipped
from pytest_anyint.contracts.entries import entries_of


def test_the_committed_json_form_is_made_from_the_shipped_index_yaml():
    expected = shipped.compiled_text(SHIPPED_DIR / "index.yaml")
    assert shipped.COMPILED_PATH.read_text(encoding="utf-8") == expected, (
        f"{shipped.COMPILED_PATH.name} is stale: index.yaml was edited; run {shipped.REGENERATE} and commit the result"
    )


COLD_PROBE = r"""
import json, sys
from pytest_anyint.contracts import ContractIndex
index = ContractIndex.load()
chat = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop", "logprobs": None}]}
stream = ('data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,'
          '"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n').encode()
found = index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                       content_type="application/json", body=json.dumps(chat).encode())
found += index.validate(method="POST", path="/openai/v1/chat/completions", status=200,
                        content_type="text/event-stream", body=stream)
print(json.dumps({"entries": len(index.entries), "violations": len(found), "yaml": "yaml" in sys.modules}))
"""


def test_a_cold_process_loads_and_checks_the_shipped_index_without_yaml(tmp_path):
    done = subprocess.run([sys.executable, "-c", COLD_PROBE], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out == {"entries": len(ContractIndex.load().entries), "violations": 0, "yaml": False}


def test_an_index_yaml_edited_without_a_new_json_form_is_still_the_index_in_force(tmp_path):
    copy = tmp_path / "_contracts"
    shutil.copytree(SHIPPED_DIR, copy)
    fresh = shipped.load_shipped(copy)
    assert [e.name for e in fresh] == [e.name for e in ContractIndex.load().entries]
    index_yaml = copy / "index.yaml"
    index_yaml.write_text(index_yaml.read_text().replace("name: models list", "name: model catalogue", 1))
    edited = shipped.load_shipped(copy)
    assert [e.name for e in edited] == ["model catalogue"] + [e.name for e in fresh][1:]
    assert all(e.schema is None or e.schema.startswith(copy.as_uri() + "/") for e in edited)


def test_the_json_form_gives_the_entries_the_yaml_gives(tmp_path):
    """The form is used as it is, so it must hold exactly what parsing index.yaml gives."""
    index_yaml = SHIPPED_DIR / "index.yaml"
    parsed = entries_of(yaml.safe_load(index_yaml.read_text()), index_yaml, user=False)
    assert shipped.load_shipped() == parsed


def test_the_regenerate_command_makes_the_json_form_the_loader_accepts(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "_contracts"
    shutil.copytree(SHIPPED_DIR, copy)
    index_yaml = copy / "index.yaml"
    index_yaml.write_text(index_yaml.read_text().replace("name: models list", "name: model catalogue", 1))
    target = tmp_path / "shipped_index.json"
    monkeypatch.setattr(shipped, "SHIPPED_DIR", copy)
    monkeypatch.setattr(shipped, "COMPILED_PATH", target)
    assert shipped.main() == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}"

    # the loader takes the new form as fresh: no YAML is parsed, and the edit is in force
    def no_yaml(*args, **kwargs):
        raise AssertionError("index.yaml was parsed although its JSON form is fresh")

    monkeypatch.setattr(shipped, "read_document", no_yaml)
    assert shipped.load_shipped(copy, target)[0].name == "model catalogue"
