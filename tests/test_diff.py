"""``pytest-anyint diff``: the reviewer's summary of a cassette change, per route × model.

Real cassettes recorded against the emulator and committed in a real git repository; the
emulator's drift switch stands in for a gateway that changed; the command runs through its main().
"""

from __future__ import annotations

import copy
import json

import pytest

from pytest_anyint import cli

from .conftest import INI
from .helpers import CHECK_CHAT, commit_recorded, git, interaction, write_cassette


@pytest.fixture
def repo(project):
    return commit_recorded(project)


def rerecord(repo, monkeypatch, change: str) -> None:
    monkeypatch.setenv("EMULATOR_DRIFT", change)
    result = repo.pytester.runpytest(
        "--anyint-record=rewrite", "--anyint-drift=warn", "--anyint-contracts=off", "--anyint-emulator", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3)


def diff(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["diff", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- against git, after a re-record


def test_diff_git_head_after_a_breaking_re_record_prints_the_per_route_table_and_exits_1(repo, monkeypatch, capsys):
    rerecord(repo, monkeypatch, "breaking")

    code, out, err = diff(capsys, "--git", "HEAD")

    assert code == 1, out + err
    assert out.startswith("## Cassette changes per route × model\n")
    assert "| Route | Model | Cassettes | Interactions | Status changes | Breaking | Additive |" in out
    openai_row = next(line for line in out.splitlines() if line.startswith("| `extract` | `gpt-5-mini` |"))
    cells = [c.strip() for c in openai_row.strip("|").split("|")]
    assert cells[2:4] == ["1 changed", "2"]  # one cassette, both interactions made again
    assert cells[5] != "0"  # breaking changes counted on the model's row
    assert "HEAD → working tree" in out
    assert (
        "| **breaking** | `test_app.py::test_openai[extract-primary-gpt-5-mini]` | `gpt-5-mini` | "
        "#1 `POST /openai/v1/chat/completions` | `$.choices[].finish_reason` | `string` | `absent` |"
    ) in out
    assert {"`chat`", "`summarize`"} <= {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| `")}


def test_diff_git_after_an_additive_re_record_lists_the_new_key_and_exits_0(repo, monkeypatch, capsys):
    rerecord(repo, monkeypatch, "additive")

    code, out, _ = diff(capsys, "--git", "HEAD", "--format", "json")

    assert code == 0
    document = json.loads(out)
    assert document["breaking"] == 0 and document["additive"] > 0
    assert any(f["path"] == "$.anyint_new_field" and f["kind"] == "additive" for f in document["findings"])
    row = next(r for r in document["routes"] if (r["route"], r["model"]) == ("extract", "gpt-5-mini"))
    assert row["cassettes"] == {"added": 0, "removed": 0, "changed": 1}
    assert row["interactions"] == {"old": 2, "new": 2, "added": 0, "removed": 0}
    assert row["old"]["input_tokens"] > 0 and row["new"]["cost_per_call_usd"] is not None  # gpt-5-mini is priced
    assert document["secrets"] == []


def test_diff_git_with_nothing_changed_says_so(repo, capsys):
    code, out, _ = diff(capsys, "--git", "HEAD")

    assert code == 0
    assert "No cassette changed" in out and "all byte-identical" in out


def test_diff_reads_the_cassette_folder_pytest_uses(repo, monkeypatch, capsys):
    repo.pytester.makeini(INI + "anyint_cassette_dir = recorded\n")
    git(repo.root, "mv", "cassettes", "recorded")
    git(repo.root, "commit", "-qam", "cassettes in recorded/")
    rerecord(repo, monkeypatch, "additive")

    code, out, err = diff(capsys, "--git", "HEAD")

    assert code == 0, err
    assert "`extract` | `gpt-5-mini` | 1 changed" in out
    assert "in 3 changed, 0 new and 0 removed cassette(s)" in out  # recorded/ at HEAD against recorded/ now


# --------------------------------------------------------------------------- two folders


def chat(prompt_tokens: int, completion_tokens: int, **changes) -> dict:
    body = copy.deepcopy(CHECK_CHAT)
    body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                     "total_tokens": prompt_tokens + completion_tokens}
    body.update(changes)
    return body


def test_diff_of_two_folders_shows_token_cost_latency_and_status_changes(project, capsys):
    old = write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml",
                         [interaction(body={"json": chat(1000, 100)}), interaction(body={"json": chat(1000, 100)})])
    slow = interaction(body={"json": chat(2000, 200)})
    slow["response"]["timing"]["total_s"] = 0.8
    failed = interaction(status=503, body={"json": {"error": {"message": "Upstream temporarily unavailable",
                                                            "type": "server_error", "code": "upstream_unavailable"}}})
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [slow, failed, interaction()])
    assert old.exists()

    code, out, _ = diff(capsys, "old", "new")

    assert code == 1  # a status class change is breaking
    row = next(line for line in out.splitlines() if line.startswith("| `extract` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "2 → 3 (+1)"
    assert cells[4] == "`200 → 503`"
    assert cells[7] == "2000 / 200 → 2024 / 208"
    # gpt-5-mini at 0.25 / 2.0 USD per million: 1000 in + 100 out = $0.00045; 2000 + 200 = $0.0009, 24 + 8 = $0.000022
    assert cells[8] == "$0.00045 → $0.000461 (+2%)"
    assert cells[9] == "400 ms → 800 ms (+100%)"


def test_the_cost_follows_the_pricing_of_anyint_yaml(project, capsys):
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction(body={"json": chat(1000, 100)})])
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [interaction(body={"json": chat(1000, 200)})])
    project.config(
        "version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\n"
        "pricing:\n  gpt-5-mini: {input: 1.0, output: 10.0}\n"
    )

    _, out, _ = diff(capsys, "old", "new", "--format", "json")

    row = json.loads(out)["routes"][0]
    assert row["old"]["cost_per_call_usd"] == pytest.approx(0.002)
    assert row["new"]["cost_per_call_usd"] == pytest.approx(0.003)
    assert row["change"]["cost_per_call"] == pytest.approx(0.5)


def test_an_unpriced_model_says_so_instead_of_a_cost(project, capsys):
    project.config("version: 1\nroutes:\n  extract: {family: openai, primary: gpt-5-mini}\n")
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction()])
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [interaction(body={"json": chat(30, 9)})])

    _, out, _ = diff(capsys, "old", "new")

    assert "n/a (no pricing for gpt-5-mini)" in out


def test_new_and_removed_cassettes_count_their_interactions(project, capsys):
    write_cassette(project.root / "old" / "a" / "extract" / "gpt-5-mini.yaml", [interaction(), interaction()])
    write_cassette(project.root / "new" / "b" / "extract" / "gpt-5-mini.yaml", [interaction()])

    code, out, _ = diff(capsys, "old", "new", "--format", "json")

    assert code == 0
    row = json.loads(out)["routes"][0]
    assert row["cassettes"] == {"added": 1, "removed": 1, "changed": 0}
    assert row["interactions"] == {"old": 2, "new": 1, "added": 1, "removed": 2}


def test_a_secret_in_a_new_cassette_is_named_never_echoed_and_exits_1(project, capsys, monkeypatch):
    key = "sk-proj-" + "Q7x" * 10
    leaked = interaction()
    leaked["request"]["headers"]["authorization"] = [f"Bearer {key}"]
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction()])
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [leaked])

    code, out, err = diff(capsys, "old", "new")

    assert code == 1
    assert "### Secrets" in out and "new/t/extract/gpt-5-mini.yaml" in out.split("### Secrets", 1)[1]
    assert key not in out + err
    assert "secret(s)**" in out


def test_the_configured_key_counts_as_a_secret_too(project, capsys, monkeypatch):
    key = "live-gw-key-" + "Zq" * 12  # not key-shaped: only knowing it finds it
    monkeypatch.setenv("ANYINT_API_KEY", key)
    quoting = interaction(body={"json": chat(5, 5, id=key)})
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction()])
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [quoting])

    code, out, err = diff(capsys, "old", "new", "--format", "json")

    assert code == 1
    assert len(json.loads(out)["secrets"]) == 1
    assert key not in out + err


# --------------------------------------------------------------------------- bad input: one line, exit 2


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["only-one"], "pytest-anyint diff: give OLD_DIR NEW_DIR, or --git REV [DIR] to compare the working tree with a revision"),
        (["old", "missing"], "pytest-anyint diff: missing: no such directory"),
        (["--git", "HEAD", "old", "new"], "pytest-anyint diff: with --git REV give at most one cassette folder"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(project, capsys, argv, expected):
    (project.root / "old").mkdir()
    code, out, err = diff(capsys, *argv)

    assert code == 2
    assert err.startswith(expected) and err.count("\n") == 1
    assert out == ""


def test_an_unknown_revision_is_one_line(repo, capsys):
    code, _, err = diff(capsys, "--git", "no-such-rev")

    assert code == 2
    assert err == "pytest-anyint diff: 'no-such-rev' is not a commit in the repository at " f"{repo.root.resolve()}\n"


def test_an_unreadable_cassette_is_named_and_exits_1(project, capsys):
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction()])
    broken = project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("interactions: [unclosed\n")

    code, out, err = diff(capsys, "old", "new")

    assert code == 1
    assert "### Unreadable cassettes" in out and "new/t/extract/gpt-5-mini.yaml" in out
    assert "Traceback" not in out + err


def test_output_file_gets_the_same_summary(project, capsys):
    write_cassette(project.root / "old" / "t" / "extract" / "gpt-5-mini.yaml", [interaction()])
    write_cassette(project.root / "new" / "t" / "extract" / "gpt-5-mini.yaml", [interaction(body={"json": chat(9, 9)})])

    code, out, _ = diff(capsys, "old", "new", "-o", "diff.md")

    assert code == 0
    assert (project.root / "diff.md").read_text() == out
