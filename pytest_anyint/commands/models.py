"""``pytest-anyint models``: every configured model checked against the gateway's Models API.

Offline from the lists recorded under ``<cassette dir>/_models/``, or live with ``--record``
(which records them). The check itself is ``run.models_check``, shared with the plugin's
once-per-session check; this module parses the options and prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(models: argparse.ArgumentParser) -> None:
    models.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml to check (default: the one pytest would use from here, via the "
                        "anyint_config ini option)")
    models.add_argument("--cassette-dir", default=None, metavar="DIR",
                        help="where the _models/ recordings live (default: anyint_cassette_dir of the pytest "
                        "configuration, else cassettes under the rootdir)")
    models.add_argument("--record", action="store_true",
                        help="ask the live gateway and record its lists (needs the key in the configured variable)")


def run_models(args: argparse.Namespace) -> int:
    """``pytest-anyint models [--record]``: 0 all listed, 1 a model is missing, 2 setup problems."""
    from ..config import ConfigError, load_config
    from ..run.models_check import EMULATOR_LISTER, check, gateway_check_hint, wanted
    from ..settings import SettingsError, find

    try:  # the anyint.yaml and cassette folder pytest would use from here
        settings = find(config_override=getattr(args, "config", None))
    except SettingsError as exc:
        print(f"pytest-anyint models: {exc}", file=sys.stderr)
        return 2
    try:
        config = load_config(settings.config_path)
    except ConfigError as exc:
        print(f"pytest-anyint models: {exc}{settings.elsewhere()}", file=sys.stderr)
        return 2
    cassette_dir = Path(args.cassette_dir) if getattr(args, "cassette_dir", None) else settings.cassette_dir
    live = bool(getattr(args, "record", False))
    api_key = os.environ.get(config.api_key_env, "") if live else ""
    if live and not api_key:
        print(f"pytest-anyint models: --record needs the gateway key in ${config.api_key_env}", file=sys.stderr)
        return 2
    problems, listings = check(
        config,
        cassette_dir,
        live=live,
        gateway_url=config.base_url,
        api_key=api_key,
        save=True,
        rootdir=settings.rootdir,
        record_hint="pytest-anyint models --record (with the key set)",
    )
    setup_failed = len(listings) < len(wanted(config))
    for problem in problems:
        print(problem, file=sys.stderr if setup_failed else sys.stdout)
    if setup_failed:
        return 2
    if problems:
        return 1
    checked = sum(len(pairs) for pairs in wanted(config).values())
    by: dict[str, list[str]] = {}  # who made each list: the gateway, or the emulator a recording ran against
    for one in listings.values():
        by.setdefault(one.lister, []).append(f"{one.path}: {len(one.ids)} listed ({one.source})")
    listers = " and ".join(f"{lister} ({', '.join(sources)})" for lister, sources in by.items())
    print(f"ok: all {checked} configured model(s) are listed by {listers}")
    if EMULATOR_LISTER in by:
        print(
            f"note: the emulator lists every model anyint.yaml configures, so its list says nothing about the "
            f"gateway; {gateway_check_hint(config.api_key_env)}"
        )
    skipped = [r.label for r in config.routes.values() if not r.check_models]
    if skipped:
        print(f"skipped (check_models: false): {', '.join(skipped)}")
    return 0
