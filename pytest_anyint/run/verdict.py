"""The case verdict: every check that judges a route case once its body ran, in one place.

Contracts (what the gate found while the body ran), the fallback policy of a fault case, the
route's call budgets, drift against the cassette a rewrite replaces, and the cassette's age (asked
when the case opens, so a too-old cassette fails before the body runs). The session calls these;
a test can too, with a ``CaseContext`` it built, without the plugin or pytest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..config import RouteConfig
from .context import CaseContext

if TYPE_CHECKING:
    from ..drift.findings import DriftFinding


class Rules(NamedTuple):  # cheap to build at import, immutable
    """The session's settings that change a verdict."""

    #: Where the budgets were set (named in a budget failure).
    config_path: Path
    #: ``--anyint-record``: none, once, new_episodes, rewrite or verify.
    record_mode: str = "none"
    #: ``--anyint-drift``: fail, warn or off.
    drift_mode: str = "fail"
    #: ``--anyint-max-age`` (e.g. ``30d``), or None for no age check.
    max_age: str | None = None


class CaseOutcome:
    """The after-body verdict of a case: problems fail the test, warnings are shown (a plain class:
    never compared or printed, and a dataclass's __init__ costs an exec at import on Python 3.11)."""

    def __init__(
        self,
        problems: list[str] | None = None,
        warnings: list[str] | None = None,
        drift: list[DriftFinding] | None = None,
        explains_error: bool = False,
    ) -> None:
        self.problems: list[str] = [] if problems is None else problems
        self.warnings: list[str] = [] if warnings is None else warnings
        self.drift: list[DriftFinding] = [] if drift is None else drift
        #: The plugin caused what the test body raised: it refused a request (unrecorded, wrong
        #: model, missing auth...), or a fault case's policy verdict explains the injected fault's
        #: exception.
        self.explains_error = explains_error


def cassette_age(context: CaseContext, rules: Rules) -> str | None:
    """The age problem of the case's cassette (``--anyint-max-age``), or None.

    A rewrite records anew and a missing cassette is new, so neither is too old.
    """
    if rules.max_age is None or rules.record_mode == "rewrite" or not context.cassette_path.exists():
        return None
    from .age import stale_message  # only with --anyint-max-age: a plain replay never loads it

    metadata = getattr(context.cassette, "_metadata", None)  # vcrpy 9.4 keeps loaded metadata here
    return stale_message(metadata, cassette=context.cassette_display, max_age=rules.max_age, nodeid=context.test_id)


def judge(context: CaseContext, route: RouteConfig, rules: Rules, *, passed: bool | None) -> CaseOutcome:
    """Every after-body check of one case, from what its context gathered.

    ``passed`` is the test body's own result (None: the body never ran). Saving the cassette is not
    a check and stays with the session, which calls this first (drift compares with the old file).
    """
    case = context.case
    outcome = CaseOutcome(problems=list(context.problems), warnings=list(context.warnings))
    refused = bool(context.problems)
    outcome.explains_error = refused
    if context.contracts is not None:
        errors, warnings = context.contracts.outcome()
        outcome.problems += errors
        outcome.warnings += warnings
    if case.fault is not None:
        from ..faults.policy import check_policy

        # The policy verdict leads; a forbidden fallback also explains a refused (unrecorded) call.
        verdict = check_policy(
            route, case.fault, context.trail, context.log_capture.records, refused=refused, passed=passed
        )
        outcome.problems[:0] = verdict
        outcome.explains_error = outcome.explains_error or bool(verdict)
    from ..report.budgets import budget_problems

    outcome.problems += budget_problems(route, list(context.trail), rules.config_path)
    if (
        rules.record_mode == "rewrite"
        and not refused
        and context.cassette_path.exists()
        and (len(context.cassette) or passed is True)
    ):
        from ..drift.findings import compare_on_rewrite

        problems, notes, findings = compare_on_rewrite(
            context.cassette_path, context.cassette, nodeid=context.test_id, model=case.model,
            mode=rules.drift_mode, secrets=context.secrets,
        )
        outcome.problems += problems
        outcome.warnings += notes
        outcome.drift = findings
    if context.drift or context.verify_notes:
        _verified(context, rules, outcome)
    return outcome


def _verified(context: CaseContext, rules: Rules, outcome: CaseOutcome) -> None:
    """``--anyint-record=verify``: breaking drift of a live answer fails (``--anyint-drift=fail``),
    additive drift and answers that could not be verified are shown."""
    failing = rules.drift_mode == "fail"
    for finding in context.drift:
        (outcome.problems if finding.breaking and failing else outcome.warnings).append(finding.line())
    outcome.warnings += context.verify_notes
    if failing and any(finding.breaking for finding in context.drift):
        outcome.problems.append(
            "(verify compared the live answers with the recordings; the cassettes were left as they are. "
            f"Once the change is expected, re-record with: {context.rewrite_command})"
        )
    outcome.drift = [*outcome.drift, *context.drift]
