"""Downloads of a run (issue 12): the CSV files, the full run as JSON and the Markdown
summary, written by `simcore.report.export` from the run the web already keeps (no new
simulation for a run that was shown). A run with more than 5,000 messages keeps counts,
not rows: its messages.csv has the header alone, and its event log the events the player
has (sampled; `python -m simcore run FILE --csv DIR` writes every one).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from playground import caching, runner
from playground.lookup import scenario_or_404
from playground.share_views import site_of
from simcore import Scenario
from simcore import __version__ as SIMCORE_VERSION
from simcore.report import export

CONTENT_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
}
EXPORTS = (*export.CSV_FILES, "run.json", "summary.md")


def file_stem(name: str) -> str:
    """A scenario name as a file name: ASCII letters, digits and dashes, at most 60."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_name).strip("-").lower()
    return stem[:60].rstrip("-") or "scenario"


def _body(name: str, scenario: Scenario, run: runner.RunData, link: str) -> str:
    if name in export.CSV_FILES:
        files = export.csv_files(run["frames"], run["messages"], run["series"])
        return files[name]
    if name == "run.json":
        document = export.run_document(
            scenario, run["summary"], run["frames"], run["messages"], run["series"], SIMCORE_VERSION
        )
        return json.dumps(document)
    return export.markdown_summary(scenario, run["summary"], link)


@require_safe
def download(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    if name not in EXPORTS:
        raise Http404(f"No export {name!r}: there are {', '.join(EXPORTS)}")
    scenario = scenario_or_404(slug)
    link = site_of(request) + reverse("scenario", args=[slug])

    def make() -> HttpResponse:
        run = runner.run(scenario)
        if run["error"] and not run.get("partial"):
            return HttpResponse(
                f"This run could not finish: {run['error']}\n",
                status=422,
                content_type="text/plain; charset=utf-8",
            )
        suffix = name[name.rindex(".") :]
        response = HttpResponse(
            _body(name, scenario, run, link), content_type=CONTENT_TYPES[suffix]
        )
        filename = f"{file_stem(scenario.name)}-{name}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    tag = caching.etag(runner.key_of(scenario), "export", name, link)
    return caching.immutable(request, tag, make, complete=lambda: runner.finished(scenario))


def export_links(slug: str) -> list[dict[str, Any]]:
    """(url, name, what) for the share page."""
    what: dict[str, str] = {
        "timeline.csv": "every typed event: time, kind, actor, fields (JSON)",
        "events.csv": "the event log: time, actor, sentence, injected",
        "messages.csv": "the per-message ledger: partition, offsets, acked, processed, outcome",
        "lag.csv": "committed offset, position, lag, HW and LEO per group and partition over time",
        "run.json": "the whole run: scenario, summary, frames, messages, series"
        " (docs/run-format.md)",
        "summary.md": "settings, outcome and link, for an incident write-up",
    }
    return [
        {"url": reverse("export", args=[slug, name]), "name": name, "what": what[name]}
        for name in EXPORTS
    ]
