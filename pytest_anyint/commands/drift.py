"""``pytest-anyint drift OLD_DIR NEW_DIR`` and ``drift --git REV``: shape changes between cassette trees.

Exit status 1 on breaking drift or an unreadable cassette, 2 on bad arguments, else 0. The work is
done by ``drift.trees`` and ``drift.render``; this module only resolves arguments and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..drift.render import render
from ..drift.trees import DriftReport, DriftUsageError, compare_trees, read_git_tree, read_tree
from ..settings import SettingsError, find
from ..text import write_atomic


def run_drift(args: argparse.Namespace) -> int:
    """Compare the trees the arguments name, print the report (and write ``--output``)."""
    if args.git and not args.dir:  # the cassette folder pytest uses, wherever the command runs
        try:
            settings = find()
        except SettingsError as exc:
            print(f"pytest-anyint drift: {exc}", file=sys.stderr)
            return 2
        args.dir = settings.shown(settings.cassette_dir)
    try:
        report = _build_report(args)
    except DriftUsageError as exc:
        print(f"pytest-anyint drift: {exc}", file=sys.stderr)
        return 2
    text = render(report, getattr(args, "format", "text") or "text")
    sys.stdout.write(text)
    output = getattr(args, "output", None)
    if output:
        write_atomic(Path(output), text)
    if report.breaking:
        return 1
    return 1 if report.errors else 0


def _build_report(args: argparse.Namespace) -> DriftReport:
    rev = getattr(args, "git", None)
    if rev:
        if args.old or args.new:
            raise DriftUsageError("give either OLD_DIR NEW_DIR or --git REV, not both")
        directory = Path(getattr(args, "dir", None) or "cassettes")
        if not directory.is_dir():
            raise DriftUsageError(f"{directory}: no such cassette directory in the working tree (use --dir)")
        old = read_git_tree(rev, directory)
        new = read_tree(directory)
        return compare_trees(old, new, old_label=rev, new_label="working tree", display_root=directory.as_posix())
    if not args.old or not args.new:
        raise DriftUsageError("give OLD_DIR NEW_DIR, or --git REV to compare the working tree with a revision")
    for name in (args.old, args.new):
        if not Path(name).is_dir():
            raise DriftUsageError(f"{name}: no such directory")
    return compare_trees(
        read_tree(Path(args.old)), read_tree(Path(args.new)), old_label=args.old, new_label=args.new, display_root=Path(args.new).as_posix()
    )
