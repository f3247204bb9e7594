"""``pytest-anyint infer-schema ROUTE``: an ``output_schema`` inferred from the primary's recorded answers.

Reads every cassette of the route under the cassette directory pytest uses, takes the answers of
the route's primary model (``--model`` for another), infers one JSON Schema from their JSON texts
(``contracts.infer``) and writes it for the user to review and set as the route's
``output_schema``, after which every fallback is held to what the primary actually produces.
Never replaces an existing file without ``--force``. Exit 0 written, 1 nothing to infer from
(no answers, or none of them JSON), 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from ..cassettes import CassetteError, header_value, parse_cassette_text
from ..config import AnyIntConfig, ConfigError, RouteConfig, load_config
from ..contracts import ContractError
from ..contracts.infer import InferError, SchemaInference
from ..contracts.schemas import check_schema
from ..families import family_for_path, parse_json
from ..settings import ProjectSettings, SettingsError, describe_error, find
from ..text import write_atomic
from .check import walk

PROG = "pytest-anyint infer-schema"
#: Endpoints that carry no model answer (the gate skips them for output_schema too).
_NO_ANSWER_SUFFIXES = ("/models", "/count_tokens")


class _Refused(Exception):
    """A usage or input error: one line, exit 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``infer-schema`` subcommand's options (the CLI wires this parser)."""
    parser.add_argument("route", metavar="ROUTE", help="the route label in anyint.yaml (e.g. extract)")
    parser.add_argument("--model", default=None, metavar="MODEL",
                        help="infer from this model's answers instead of the route's primary")
    parser.add_argument("--output", "-o", default=None, metavar="FILE",
                        help="where to write the schema (default: contracts/ROUTE.schema.json beside anyint.yaml; "
                             "- prints it instead)")
    parser.add_argument("--force", action="store_true", help="replace FILE when it exists")
    parser.add_argument("--config", default=None, metavar="PATH",
                        help="anyint.yaml to read the route from (default: the one pytest would use from here)")
    parser.add_argument("--cassette-dir", default=None, metavar="DIR",
                        help="where the recordings live (default: anyint_cassette_dir of the pytest configuration, "
                             "else cassettes under the rootdir)")


def run_infer_schema(args: argparse.Namespace) -> int:
    """Write (or print) the inferred schema; 0 done, 1 nothing to infer from, 2 usage or input error."""
    try:
        settings = find(config_override=args.config)
        config = _load_config(settings, args.config)
        route = config.route(args.route)
        model = args.model or route.primary.model
        if model not in {m.model for m in route.chain}:
            raise _Refused(f"--model {model}: not a model of route {route.label!r} (its chain: "
                           f"{', '.join(m.model for m in route.chain)})")
        directory = Path(args.cassette_dir) if args.cassette_dir else settings.cassette_dir
        if not directory.is_dir():
            raise _Refused(f"{settings.shown(directory)}: no such directory of cassettes{settings.elsewhere()}")
        inference, cassettes = _gather(route, model, directory, settings)
        schema = inference.schema()
        check_schema(schema, Path("<inferred>"))  # what genson made is a valid draft 2020-12 schema
    except (_Refused, SettingsError, ConfigError, ContractError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except InferError as exc:
        hint = (f"; record them first: pytest --anyint-record=once -k {route.label}"
                if not inference.answers else "")
        print(f"{PROG}: {exc}{hint}", file=sys.stderr)
        return 1
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.output) if args.output else config.path.parent / "contracts" / f"{route.label}.schema.json"
    if target.is_dir():
        print(f"{PROG}: {settings.shown(target)}: is a directory; name the file with -o", file=sys.stderr)
        return 2
    if target.exists() and not args.force:
        print(f"{PROG}: {settings.shown(target)}: exists; pass --force to replace it, or -o another file",
              file=sys.stderr)
        return 2
    try:
        write_atomic(target, text)
    except OSError as exc:
        print(f"{PROG}: {settings.shown(target)}: cannot be written: {describe_error(exc)}", file=sys.stderr)
        return 2
    relative = os.path.relpath(target.resolve(), config.path.parent.resolve()).replace(os.sep, "/")
    skipped = f"; {len(inference.not_json)} answer(s) were not JSON and were left out" if inference.not_json else ""
    print(f"wrote {settings.shown(target)}: the JSON Schema of {inference.documents} recorded answer(s) of {model} "
          f"(route {route.label}, {cassettes} cassette(s)); keys present in every answer are required{skipped}.")
    print(f"Review it, then set it as the route's output_schema in {settings.shown(config.path)}:")
    print(f"  routes:\n    {route.label}:\n      output_schema: {relative}")
    print("From then on every model of the route, fallbacks too, is held to it (pytest, and pytest-anyint check).")
    return 0


def _load_config(settings: ProjectSettings, override: str | None) -> AnyIntConfig:
    if not settings.config_path.is_file() and not override:
        raise _Refused(f"{settings.shown(settings.config_path)}: not found: infer-schema reads the route from "
                       f"anyint.yaml{settings.elsewhere()}")
    return load_config(settings.config_path)


def _gather(route: RouteConfig, model: str, directory: Path, settings: ProjectSettings) -> tuple[SchemaInference, int]:
    """Every recorded answer of ``model`` on ``route`` under ``directory``, fed to one inference."""
    inference = SchemaInference(route.label, model)
    cassettes = 0
    for path in walk(directory):
        if path.is_dir():
            continue
        shown = settings.shown(path)
        try:
            document = parse_cassette_text(path.read_text(encoding="utf-8"), source=shown)
        except (OSError, UnicodeDecodeError) as exc:
            raise _Refused(f"{shown}: cannot be read: {describe_error(exc)}") from None
        except CassetteError as exc:
            raise _Refused(str(exc)) from None
        metadata = document.get("metadata")
        label = metadata.get("route") if isinstance(metadata, dict) else None
        if (label or path.parent.name) != route.label:
            continue
        found = False
        for number, interaction in enumerate(document["interactions"], 1):
            found |= _add(inference, interaction, model, f"{shown} interaction #{number}")
        cassettes += found
    return inference, cassettes


def _add(inference: SchemaInference, interaction: dict[str, Any], model: str, where: str) -> bool:
    request, response = interaction["request"], interaction["response"]
    path = urllib.parse.urlsplit(request["uri"]).path or "/"
    family = family_for_path(path)
    status = response["status"]["code"]
    if family is None or not 200 <= status < 300 or path.endswith(_NO_ANSWER_SUFFIXES):
        return False
    body = request.get("body")
    asked = family.model_from_request(path, parse_json(body) if family.name != "gemini" else None)
    if asked != model:
        return False
    inference.add(family=family.name, body=response["body"]["string"],
                  content_type=header_value(response["headers"], "content-type"), where=where)
    return True
