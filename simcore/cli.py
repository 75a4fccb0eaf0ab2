"""``python -m simcore run FILE [--json] [--csv DIR] [--markdown] [--run-json FILE]`` and
``python -m simcore list``.

``--csv DIR`` writes timeline.csv, events.csv, messages.csv and lag.csv into DIR (created if
missing); ``--markdown`` prints a Markdown summary instead of the text one; ``--run-json
FILE`` writes the whole run as versioned JSON (docs/run-format.md). See `simcore.report.export`.

Exit status: 0 on success, 2 with a one-line message on stderr for an invalid
scenario (or a bad command line), 1 if the run itself failed an invariant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simcore.kernel.errors import ScenarioError, SimcoreError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simcore", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a scenario file (YAML or JSON)")
    run.add_argument("file", help="scenario file, or builtin:<name> for a built-in scenario")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--check", action="store_true", help="check invariants after every event")
    run.add_argument("--csv", metavar="DIR", help="write the run's CSV files into DIR")
    run.add_argument("--markdown", action="store_true", help="print a Markdown summary")
    run.add_argument("--run-json", metavar="FILE", help="write the whole run as JSON to FILE")
    sub.add_parser("list", help="list the built-in scenarios")
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list()
    if args.json and args.markdown:
        parser.error("--json and --markdown both print a summary: choose one")
    exports = Exports(args.csv, args.markdown, args.run_json)
    return _run(args.file, as_json=args.json, check=args.check, exports=exports)


@dataclass(frozen=True)
class Exports:
    csv_dir: str | None = None
    markdown: bool = False
    run_json: str | None = None


def _list() -> int:
    from simcore.scenario.builtins import builtin_scenarios

    for slug, scenario in builtin_scenarios():
        print(f"builtin:{slug:<32} {scenario.name}")
    return 0


def _run(path: str, *, as_json: bool, check: bool, exports: Exports | None = None) -> int:
    from simcore import simulate
    from simcore.scenario.builtins import builtin_scenario
    from simcore.scenario.parse import load_scenario

    try:
        if path.startswith("builtin:"):
            scenario = builtin_scenario(path.removeprefix("builtin:"))
        else:
            scenario = load_scenario(path)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        result = simulate(scenario, check_invariants=check)
    except SimcoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    summary = result.summary()
    exports = exports or Exports()
    try:
        _write_exports(result, summary, exports)
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps(summary, sort_keys=False))
    elif exports.markdown:
        from simcore.report.export import markdown_summary

        print(markdown_summary(result.scenario, summary), end="")
    else:
        print(_text(summary))
    return 0


def _write_exports(result: Any, summary: dict[str, Any], exports: Exports) -> None:
    from simcore import __version__
    from simcore.report.export import csv_files, run_document

    if exports.csv_dir is None and exports.run_json is None:
        return
    frames = result.frames()
    messages, series = result.messages(), result.series()
    if exports.csv_dir is not None:
        directory = Path(exports.csv_dir)
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in csv_files(frames, messages, series).items():
            (directory / name).write_text(text, encoding="utf-8")
    if exports.run_json is not None:
        document = run_document(result.scenario, summary, frames, messages, series, __version__)
        Path(exports.run_json).write_text(json.dumps(document), encoding="utf-8")


def _text(summary: dict[str, Any]) -> str:
    lines = [f"{summary['name']}  (seed {summary['seed']}, digest {summary['digest'][:16]})", ""]
    for topic, c in summary["ledger"]["topics"].items():
        lines.append(
            f"topic {topic}: sent {c['sent']}, acked {c['acked']}, failed {c['failed']}, "
            f"in log {c['in_log']}, acknowledged but lost {c['lost_acked']}, "
            f"duplicate copies {c['log_duplicates']}"
        )
    for group, c in summary["ledger"]["groups"].items():
        lines.append(
            f"group {group}: processed once {c['processed_once']}, never "
            f"{c['processed_never']}, more than once {c['processed_multiple']} "
            f"({c['processing_total']} processings)"
        )
    for txn_id, t in summary.get("transactions", {}).get("ids", {}).items():
        lines.append(
            f"transactional.id {txn_id}: {t['state']} at epoch {t['epoch']}, committed "
            f"{t['committed']}, aborted {t['aborted']} ({t['timed_out']} timed out)"
        )
        for producer, p in t.get("producers", {}).items():
            fatal = f", stopped by {p['fatal']}" if p["fatal"] else ""
            lines.append(f"  {producer}: {p['state']} at epoch {p['epoch']}{fatal}")
    for consumer, e in summary.get("end_to_end", {}).items():
        lines.append(
            f"pipeline {consumer} ({e['mode']}) -> {e['output']}: of {e['inputs']} inputs, "
            f"results seen once {e['exactly_once']}, never {e['never']}, more than once "
            f"{e['more_than_once']} (by a read_committed reader)"
        )
    if summary["groups"]:
        cols = list(summary["groups"][0])
        rows = [[str(r[c]) for c in cols] for r in summary["groups"]]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
        lines.append("")
        lines.append("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        lines.extend(
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )
    for error in summary["errors"]:
        lines.append(f"error: {error}")
    return "\n".join(lines)
