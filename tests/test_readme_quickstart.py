"""The README quickstart, copied as written into a fresh project, records against the emulator and passes.

The code blocks of README.md's "Quickstart in your project" section are parsed: each names its file
on its first line (``# file: myapp/extract.py``, ``(continued)`` appends) or, for the JSON schema,
in the sentence before it; each ``$ pytest ...`` line of its console blocks is then run, in order,
in a new process with no key and no gateway settings in the environment.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_FILE = re.compile(r"^# file: (\S+)( \(continued\))?$")


def quickstart() -> str:
    text = README.read_text()
    start = text.index("## Quickstart in your project")
    return text[start : text.index("\n## ", start + 3)]


def files_and_commands(section: str) -> tuple[dict[str, str], list[list[str]]]:
    """The files the blocks make and the commands the console blocks run, in README order."""
    files: dict[str, str] = {}
    commands: list[list[str]] = []
    last_end = 0
    for match in _BLOCK.finditer(section):
        language, body = match.group(1), match.group(2)
        before = section[last_end : match.start()]
        last_end = match.end()
        if language == "console":
            for line in body.splitlines():
                if line.startswith("$ "):
                    command = shlex.split(line[2:], comments=True)
                    assert command[0] == "pytest", line
                    commands.append(command)
            continue
        first, _, rest = body.partition("\n")
        named = _FILE.match(first)
        if named:
            name, continued = named.group(1), bool(named.group(2))
        else:  # the file is named in the sentence before the block: "... in `contracts/invoice.schema.json`:"
            names = re.findall(r"`([\w./-]+\.%s)`" % language, before)
            assert names, f"a {language} block names no file: {first}"
            name, continued = names[-1], False
        if continued:
            assert name in files, f"{name} is continued before it starts"
            files[name] += "\n\n" + (rest if named else body)
        else:
            assert name not in files, f"{name} is written twice"
            files[name] = body
    return files, commands


def test_the_quickstart_names_a_file_for_every_block():
    files, commands = files_and_commands(quickstart())
    assert sorted(files) == ["anyint.yaml", "contracts/invoice.schema.json", "myapp/extract.py", "test_extract.py"]
    assert commands == [["pytest", "--anyint-record=once", "--anyint-emulator"], ["pytest"]]


def test_the_quickstart_records_against_the_emulator_and_replays_offline(tmp_path):
    files, commands = files_and_commands(quickstart())
    for name, body in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANYINT_", "PYTEST_"))}
    pytest_script = Path(sys.executable).parent / "pytest"
    outputs = []
    for command in commands:
        done = subprocess.run(
            [str(pytest_script), *command[1:]],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
        )
        outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, f"$ {shlex.join(command)}\n{outputs[-1][-4000:]}"
    recorded, replayed = outputs
    assert re.search(r"\b19 passed\b", recorded) and re.search(r"\b19 passed\b", replayed), replayed[-2000:]
    cassettes = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "cassettes").rglob("*.yaml"))
    named = re.findall(r"`(cassettes/test_extract/[\w./-]+\.yaml)`", quickstart())  # where the README says they land
    assert named and all(n in cassettes for n in named), (named, cassettes)
    assert "cassettes/test_extract/test_extract_invoice/extract/deepseek-v3.2-exp.yaml" in cassettes
    assert "cassettes/test_extract/test_extract_survives_the_primary/extract/fault-503.yaml" in cassettes
    collected = subprocess.run(
        [str(pytest_script), "--collect-only", "-q", "-p", "no:cacheprovider"], cwd=tmp_path, env=env, capture_output=True, text=True
    ).stdout
    section = quickstart()
    for name in re.findall(r"`(test_extract_invoice\[[^\]]+\])`", section):  # "This collects ..."
        assert f"test_extract.py::{name}" in collected
