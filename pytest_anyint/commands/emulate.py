"""``pytest-anyint emulate``: run the gateway emulator in the foreground until Ctrl-C.

It serves the models of the ``anyint.yaml`` pytest would use from here (when there is one) on
top of its built-in list, with the key given by ``--api-key`` or read from ``--api-key-env``; the
key itself is never printed.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..config import AnyIntConfig, ConfigError, load_config
from ..emulator.server import DEFAULT_API_KEY, serve
from ..settings import SettingsError, find


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others warn)")
    parser.add_argument("--port", type=int, default=8790, help="port to listen on (default 8790; 0 picks a free one)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help=f"the key clients must send (default {DEFAULT_API_KEY})")
    parser.add_argument("--api-key-env", metavar="VAR", default=None, help="read the key from this environment variable instead")
    parser.add_argument(
        "--model", action="append", help="a model the emulator serves instead of its built-in list (repeatable)"
    )
    parser.add_argument(
        "--config", default=None,
        help="anyint.yaml whose models and emulator replies to serve too (default: the one pytest would use from here, if present)",
    )


def run_emulate(args: argparse.Namespace) -> int:
    config: AnyIntConfig | None = None
    try:  # the anyint.yaml pytest would use from here: serve its models too
        path = find(config_override=args.config).config_path
        if args.config or path.is_file():
            config = load_config(path)
    except (SettingsError, ConfigError) as exc:
        print(f"pytest-anyint emulate: {exc}", file=sys.stderr)
        return 2
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env, "")
        if not api_key:
            print(f"pytest-anyint emulate: --api-key-env {args.api_key_env}: that variable is not set or empty", file=sys.stderr)
            return 2
        source = f"from ${args.api_key_env}"
    else:
        api_key = args.api_key
        source = "the default, see --help" if api_key == DEFAULT_API_KEY else "given by --api-key"
    try:
        serve(args.host, args.port, api_key, args.model or None, config=config, key_source=source)
    except OSError as exc:
        print(f"pytest-anyint emulate: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


__all__ = ["add_arguments", "run_emulate"]
