"""simcore.report.export and the CLI's --csv / --markdown / --run-json (issue 12): what a file
holds, read back the way a spreadsheet or a script would."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from simcore import __version__, builtin_scenario, parse_scenario, scenario_digest, simulate
from simcore.cli import main
from simcore.report.export import (
    RUN_FORMAT,
    RUN_FORMAT_VERSION,
    csv_files,
    lag_csv,
    markdown_summary,
    messages_csv,
    run_document,
)

LEADER_DIES = "acks-1-leader-dies"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return simulate(builtin_scenario(LEADER_DIES))


def test_messages_csv_is_the_ledger_row_by_row(result) -> None:  # type: ignore[no-untyped-def]
    read = rows(messages_csv(result.messages()))
    assert [r["id"] for r in read] == [m["id"] for m in result.messages()]
    lost = [r for r in read if r["outcome"].startswith("lost")]
    assert [r["id"] for r in lost] == [f"p1#{k}" for k in range(5)]
    assert all(r["acked"] == "1" and r["offsets"] == "" for r in lost)
    kept = read[5]
    assert (kept["id"], kept["offsets"], kept["processed"]) == ("p1#5", "0", "billing=1")


def test_the_timeline_and_event_log_hold_every_event_in_order(result) -> None:  # type: ignore[no-untyped-def]
    files = csv_files(result.frames(), result.messages(), result.series())
    timeline, log = rows(files["timeline.csv"]), rows(files["events.csv"])
    events = [e for f in result.frames() for e in f["events"]]
    assert len(timeline) == len(log) == len(events)
    assert [int(r["t_ms"]) for r in timeline] == [e["t"] for e in events]
    election = next(r for r in timeline if r["kind"] == "leader_elected")
    assert json.loads(election["fields"])["epoch"] == 1
    assert any("elects broker-1" in r["text"] for r in log)


def test_the_lag_series_is_long_form_per_group_and_partition(result) -> None:  # type: ignore[no-untyped-def]
    series = result.series()
    read = rows(lag_csv(series))
    assert len(read) == len(series["t"])  # one group/partition
    last = read[-1]
    assert (last["group"], last["partition"]) == ("billing", "orders-0")
    assert (last["committed"], last["hw"], last["leo"]) == ("5", "5", "5")
    assert read[0]["committed"] == ""  # nothing committed yet: blank, not 0


def test_text_a_spreadsheet_would_evaluate_is_quoted() -> None:
    text = messages_csv([{"id": "p#0", "key": '=HYPERLINK("x")', "value": "-1+2", "offsets": []}])
    row = rows(text)[0]
    assert row["key"] == '\'=HYPERLINK("x")' and row["value"] == "'-1+2"


def test_the_run_document_is_versioned_and_replays(result) -> None:  # type: ignore[no-untyped-def]
    document = run_document(
        result.scenario,
        result.summary(),
        result.frames(),
        result.messages(),
        result.series(),
        __version__,
    )
    back = json.loads(json.dumps(document))
    assert (back["format"], back["version"]) == (RUN_FORMAT, RUN_FORMAT_VERSION)
    assert back["digest"] == result.digest
    replayed = simulate(parse_scenario(back["scenario"]))
    assert replayed.digest == result.digest  # the file reproduces the run
    assert len(back["frames"]) == len(result.frames())
    assert "snapshot" not in back["frames"][0]


def test_the_markdown_summary_has_the_settings_and_the_outcome(result) -> None:  # type: ignore[no-untyped-def]
    text = markdown_summary(result.scenario, result.summary(), "https://play.example/r/abc")
    assert text.startswith(f"## {result.scenario.name}")
    assert "| producer p1 | `acks` | 1 |" in text
    assert "| topic orders | `min.insync.replicas` | 1 |" in text
    assert "| orders | 10 | 10 | 5 | 5 | 0 |" in text
    assert "<https://play.example/r/abc>" in text


def test_the_cli_writes_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "csv"
    run_json = tmp_path / "run.json"
    code = main(
        [
            "run",
            f"builtin:{LEADER_DIES}",
            "--csv",
            str(out),
            "--markdown",
            "--run-json",
            str(run_json),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "events.csv",
        "lag.csv",
        "messages.csv",
        "timeline.csv",
    ]
    assert len(rows((out / "messages.csv").read_text())) == 10
    assert capsys.readouterr().out.startswith("## acks=1")
    document = json.loads(run_json.read_text())
    assert scenario_digest(parse_scenario(document["scenario"])) == scenario_digest(
        builtin_scenario(LEADER_DIES)
    )


def test_the_cli_refuses_json_with_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", f"builtin:{LEADER_DIES}", "--json", "--markdown"])
    assert exit_info.value.code == 2
    assert "--json and --markdown" in capsys.readouterr().err


def test_the_cli_says_when_it_cannot_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", f"builtin:{LEADER_DIES}", "--csv", str(blocker / "dir")]) == 2
    assert capsys.readouterr().err.startswith("error:")
