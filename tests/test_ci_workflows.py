"""The GitHub Actions workflows of docs/ci.md: valid against the GitHub workflow schema, shown in the
docs verbatim, and the commands they run — the project's own — exercised against the emulator."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from pytest_anyint import cli

from .helpers import commit_recorded, git

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "docs" / "workflows"
REPLAY = WORKFLOWS / "anyint-replay.yml"
RERECORD = WORKFLOWS / "anyint-rerecord.yml"


def load(path: Path) -> dict:
    """Parse as GitHub does (YAML 1.2: ``on`` stays a string, unlike PyYAML's YAML 1.1)."""
    return YAML(typ="safe").load(path.read_text())


def schema(package: str, name: str) -> dict:
    return json.loads(resources.files(package).joinpath(name).read_text())


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


# --------------------------------------------------------------------------- schema and docs


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_workflow_is_valid_against_the_github_workflow_schema(path):
    document = load(path)
    for package, name in (
        ("check_jsonschema.builtin_schemas.vendor", "github-workflows.json"),  # schemastore's
        ("check_jsonschema.builtin_schemas.custom", "github-workflows-require-timeout.json"),  # no job runs forever
    ):
        validator = jsonschema.Draft7Validator(schema(package, name))
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], f"{path.name} against {name}"


def test_check_jsonschema_command_accepts_the_workflows():
    files = [str(p) for p in workflow_files()]
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_rejects_a_broken_workflow():
    validator = jsonschema.Draft7Validator(schema("check_jsonschema.builtin_schemas.vendor", "github-workflows.json"))
    broken = load(RERECORD)
    broken["jobs"]["rerecord"]["steps"][0]["with"] = "not a mapping"
    assert list(validator.iter_errors(broken))


def test_docs_ci_shows_each_workflow_verbatim():
    text = (ROOT / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    for path in workflow_files():
        assert path.read_text() in blocks, f"docs/ci.md does not show {path.name} as it is"
        assert f"docs/workflows/{path.name}" in text


def test_the_replay_workflow_needs_no_key_and_the_rerecord_one_takes_it_from_a_secret():
    assert "secrets." not in REPLAY.read_text()  # pull requests from forks get no secrets
    rerecord = load(RERECORD)
    assert rerecord["jobs"]["rerecord"]["env"]["ANYINT_API_KEY"] == "${{ secrets.ANYINT_API_KEY }}"
    assert "schedule" in rerecord["on"]
    steps = {s.get("id"): s for s in rerecord["jobs"]["rerecord"]["steps"]}
    uses = [s.get("uses", "") for s in rerecord["jobs"]["rerecord"]["steps"]]
    assert any(u.startswith("actions/upload-artifact@") for u in uses)
    assert any(u.startswith("peter-evans/create-pull-request@") for u in uses)
    last = rerecord["jobs"]["rerecord"]["steps"][-1]
    assert last["if"] == "steps.verify.outcome == 'failure' || steps.diff.outcome == 'failure'"
    assert "exit 1" in last["run"]
    assert steps["verify"]["continue-on-error"] and steps["diff"]["continue-on-error"]
    # only a change re-records and opens a pull request, and its body is the diff summary
    pull_request = next(s for s in rerecord["jobs"]["rerecord"]["steps"] if s.get("uses", "").startswith("peter-evans/"))
    for step in (steps["rerecord"], steps["diff"], pull_request):
        assert step["if"] == "steps.changed.outputs.changed == 'true'"
    assert pull_request["with"]["body-path"] == "diff.md" and "-o diff.md" in steps["diff"]["run"]


# --------------------------------------------------------------------------- the commands, against the emulator


def command(path: Path, step_id: str, **context: str) -> list[str]:
    """The argv a workflow step runs, with its env and ``${{ github.* }}`` expressions filled in."""
    steps = {s.get("id"): s for job in load(path)["jobs"].values() for s in job["steps"]}
    step = steps[step_id]
    env = {
        name: re.sub(r"\$\{\{\s*github\.(\w+)\s*\}\}", lambda m: context[m.group(1)], value)
        for name, value in (step.get("env") or {}).items()
    }
    return [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], arg) for arg in shlex.split(step["run"])]


def run_step(project, argv: list[str], *extra: str):
    """``pytest …`` in-process through pytester (plus ``extra``), ``pytest-anyint …`` through its main()."""
    if argv[0] == "pytest":
        return project.pytester.runpytest(*argv[1:], "-p", "no:randomly", *extra)
    assert argv[0] == "pytest-anyint", argv
    return cli.main(argv[1:])


@pytest.fixture
def repo(project):
    """A user repository whose cassettes were recorded against the emulator and committed."""
    return commit_recorded(project)


def verify_supported() -> bool:
    """Whether this build's ``--anyint-record`` offers ``verify`` (the weekly job's first step)."""
    from _pytest.config.argparsing import Parser

    from pytest_anyint import plugin

    parser = Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    option = next(o for o in parser.getgroup("anyint").options if "--anyint-record" in o.names())
    return "verify" in (option.attrs().get("choices") or ())


def changed(root: Path) -> str:
    """The weekly job's "did anything change?" step, run by bash as GitHub runs it: its output value."""
    steps = {s.get("id"): s for s in load(RERECORD)["jobs"]["rerecord"]["steps"]}
    outputs = root / "github-output"
    outputs.write_text("")
    subprocess.run(["bash", "-e", "-c", steps["changed"]["run"]], cwd=root, check=True,
                   env={"GITHUB_OUTPUT": str(outputs), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"})
    return outputs.read_text().strip()


def weekly(repo, monkeypatch, change: str):
    """The weekly job's commands in order; the emulator (told to drift) stands in for the gateway."""
    if not verify_supported():
        pytest.skip("--anyint-record=verify is not in this build yet")
    monkeypatch.setenv("EMULATOR_DRIFT", change)
    verified = run_step(repo, command(RERECORD, "verify"), "--anyint-emulator")
    untouched = git(repo.root, "status", "--porcelain", "cassettes")
    if changed(repo.root) != "changed=true":
        return verified, untouched, None, None
    run_step(repo, command(RERECORD, "rerecord"), "--anyint-emulator")
    diff_exit = run_step(repo, command(RERECORD, "diff"))
    return verified, untouched, diff_exit, (repo.root / "diff.md").read_text()


BREAKING_ROW = (
    "| **breaking** | `test_app.py::test_openai[extract-primary-gpt-5-mini]` | `gpt-5-mini` | "
    "#1 `POST /openai/v1/chat/completions` | `$.choices[].finish_reason` | `string` | `absent` |"
)


def test_weekly_job_fails_on_breaking_drift_and_opens_a_pull_request_with_the_diff(repo, monkeypatch):
    verified, untouched, diff_exit, summary = weekly(repo, monkeypatch, "breaking")
    assert verified.ret == pytest.ExitCode.TESTS_FAILED
    assert untouched == ""  # verify never writes a cassette
    assert diff_exit == 1
    assert BREAKING_ROW in summary and "| `extract` | `gpt-5-mini` |" in summary
    changed_files = git(repo.root, "status", "--porcelain")
    assert "cassettes/test_app/test_openai/extract/gpt-5-mini.yaml" in changed_files  # what the pull request carries


def test_weekly_job_passes_on_additive_drift_and_reports_the_new_key(repo, monkeypatch):
    verified, untouched, diff_exit, summary = weekly(repo, monkeypatch, "additive")
    assert verified.ret == pytest.ExitCode.OK and untouched == ""
    assert diff_exit == 0
    assert "0 breaking" in summary and "`$.anyint_new_field` | `absent` | `string` |" in summary


def test_weekly_job_opens_no_pull_request_after_a_wording_change(repo, monkeypatch):
    verified, untouched, diff_exit, summary = weekly(repo, monkeypatch, "wording")
    assert verified.ret == pytest.ExitCode.OK
    assert (untouched, diff_exit, summary) == ("", None, None)  # nothing re-recorded, no pull request
    assert git(repo.root, "status", "--porcelain", "cassettes") == ""


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ({"drift": 0, "violations": 0}, "changed=false"),
        ({"drift": 2, "violations": 0}, "changed=true"),
        ({"drift": 0, "violations": 1}, "changed=true"),
    ],
)
def test_the_changed_step_reads_the_verify_report(tmp_path, summary, expected):
    (tmp_path / "verify.json").write_text(json.dumps({"summary": {**summary, "status": "passed"}}))
    assert changed(tmp_path) == expected


def test_the_re_record_and_diff_steps_report_breaking_drift_per_route(repo, monkeypatch):
    monkeypatch.setenv("EMULATOR_DRIFT", "breaking")
    run_step(repo, command(RERECORD, "rerecord"), "--anyint-emulator")  # the new answers break contracts too
    assert run_step(repo, command(RERECORD, "diff")) == 1
    summary = (repo.root / "diff.md").read_text()
    assert BREAKING_ROW in summary
    assert "| `extract` | `gpt-5-mini` | 1 changed | 2 |" in summary
    assert "cassettes/test_app/test_openai/extract/gpt-5-mini.yaml" in git(repo.root, "status", "--porcelain")


def test_pull_request_job_replays_offline_and_summarises_the_change_against_the_base(repo, monkeypatch):
    monkeypatch.delenv("EMULATOR_DRIFT", raising=False)
    git(repo.root, "update-ref", "refs/remotes/origin/main", "HEAD")  # what checkout with fetch-depth 0 provides
    replayed = run_step(repo, command(REPLAY, "replay"))  # no emulator, no key
    replayed.assert_outcomes(passed=3)
    assert (repo.root / "anyint-report.md").exists()
    argv = command(REPLAY, "diff", base_ref="main")
    assert argv[:4] == ["pytest-anyint", "diff", "--git", "origin/main"]
    assert run_step(repo, argv) == 0
    monkeypatch.setenv("EMULATOR_DRIFT", "additive")
    run_step(repo, command(RERECORD, "rerecord"), "--anyint-emulator")  # a pull request that re-recorded
    assert run_step(repo, argv) == 0
    assert "`$.anyint_new_field`" in (repo.root / "diff.md").read_text()
