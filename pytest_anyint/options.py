"""The command-line options and ini keys of the pytest plugin, declared in one place.

A ground module (the standard library and pytest only): ``plugin`` registers these on every pytest
run, so nothing heavy may be imported here; ``ANYINT_OPTIONS`` are the options that switch the
plugin on for a session that has no route marker.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest


def add_options(parser: pytest.Parser, *, pace: Callable[[str], float]) -> None:
    """Declare every ``--anyint-*`` option and ``anyint_*`` ini key; ``pace`` parses ``--anyint-pace``."""
    group = parser.getgroup("anyint", "AnyInt gateway routes: record, replay, contracts, faults")
    group.addoption(
        "--anyint-record",
        choices=("none", "once", "new_episodes", "rewrite", "verify"),
        default=None,
        help="none (default): replay only, the network is blocked; once: record missing cassettes; "
        "new_episodes: append new requests; rewrite: record every cassette anew; verify: also send each "
        "recorded request to the live gateway and check its answer against the contracts and the "
        "recorded shape (cassettes are never written)",
    )
    group.addoption("--anyint-config", metavar="PATH", default=None, help="the anyint.yaml to use")
    group.addoption(
        "--anyint-contracts",
        choices=("strict", "fail", "warn", "off"),
        default=None,
        help="contract checks of every response: fail (default), strict (assumed rules fail too), warn, off",
    )
    group.addoption(
        "--anyint-emulator",
        action="store_true",
        default=False,
        help="point the gateway at the bundled emulator (started on loopback for the session)",
    )
    group.addoption(
        "--anyint-drift",
        choices=("fail", "warn", "off"),
        default=None,
        help="when rewrite re-records a cassette: fail (default) on breaking shape changes, warn, or off",
    )
    group.addoption(
        "--anyint-max-age",
        metavar="AGE",
        default=None,
        help="warn about cassettes recorded longer ago than AGE (e.g. 30d, 12h)",
    )
    group.addoption(
        "--anyint-max-age-fail", action="store_true", default=False, help="fail instead of warn on --anyint-max-age"
    )
    group.addoption(
        "--anyint-check-models",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="check every configured model against the Models API once per session (default: on when recording)",
    )
    group.addoption("--anyint-pace", metavar="FACTOR", type=pace, default=None,
                    help="replay streams at their recorded pace times FACTOR (default 0: no waiting)")
    group.addoption("--anyint-report", metavar="PATH", default=None, help="write a JSON report (versioned format)")
    group.addoption("--anyint-report-md", metavar="PATH", default=None, help="write a Markdown report")
    group.addoption("--anyint-html", metavar="PATH", default=None, help="write a self-contained HTML report")
    group.addoption(
        "--anyint-baseline",
        metavar="PATH",
        default=None,
        help="a JSON report of an earlier run (--anyint-report): fail when a route x model's cost per call or "
        "p95 latency grew beyond --anyint-baseline-tolerance, or a model that passed there fails now",
    )
    group.addoption(
        "--anyint-baseline-tolerance",
        metavar="PERCENT",
        default=None,
        help="how much cost per call and p95 latency may grow against --anyint-baseline (default 20%%)",
    )
    group.addoption("--anyint-list-cassettes", metavar="PATH", default=None, help=argparse.SUPPRESS)
    group.addoption(
        "--anyint-allow-host",
        metavar="HOST",
        action="append",
        default=None,
        help="in replay and under --anyint-emulator, let connections to HOST (a name, an address or a "
        "network such as 10.0.0.0/8) through; repeatable",
    )
    parser.addini("anyint_config", "path of anyint.yaml, relative to the rootdir", default="anyint.yaml")
    parser.addini("anyint_cassette_dir", "where cassettes live, relative to the rootdir", default="cassettes")
    parser.addini("anyint_contracts_dir", "extra contract directories (same index format)", type="paths", default=[])
    parser.addini("anyint_stream_timeout", "seconds a recorded stream may take before it fails", default="60")
    parser.addini(
        "anyint_allow_hosts",
        "hosts connections may reach in replay and under --anyint-emulator (besides loopback), space-separated",
        type="args",
        default=[],
    )


#: The options whose use switches the plugin on (besides a route marker).
ANYINT_OPTIONS = (
    "--anyint-record",
    "--anyint-config",
    "--anyint-contracts",
    "--anyint-emulator",
    "--anyint-drift",
    "--anyint-pace",
    "--anyint-max-age",
    "--anyint-check-models",
    "--anyint-report",
    "--anyint-report-md",
    "--anyint-html",
    "--anyint-baseline",
    "--anyint-allow-host",
)
