"""The embed's options (`/embed/<slug>?panels=…&at=…&autoplay=…&theme=…`), its defaults per
scenario, the copy-paste snippet that sizes the iframe, and the oEmbed answer.

Every option is checked here and a bad one is a `ScenarioError` naming the query field and
what it allows, so the embed answers a 400 page that says so (never a 500).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.urls import Resolver404, resolve

from playground.numbers import parse_int
from simcore import Scenario, ScenarioError
from simcore.scenario.parse import MAX_DURATION_MS
from simcore.scenario.spec import BrokerFault

# What each panel name shows. "stage" is the player's strip and chart together.
PANELS = {
    "verdict": "the outcome at the end of the run (lost, duplicated, exactly once)",
    "stage": "the partition log strip and the offsets-and-lag chart",
    "strip": "the partition log strip alone",
    "chart": "the offsets-and-lag chart alone",
    "cluster": "brokers, replicas with leader, ISR and HW, the replica timeline and the"
    " acknowledged-then-lost list",
    "log": "the event log up to the step",
}
PANEL_ORDER = ("verdict", "stage", "strip", "chart", "cluster", "log")
THEMES = ("light", "dark")
MAX_STEP = 10_000_000
DEFAULT_WIDTH, DEFAULT_HEIGHT = 640, 720  # the iframe's size before it reports its own
MIN_WIDTH, MAX_WIDTH = 320, 1600


@dataclass(frozen=True)
class EmbedOptions:
    panels: tuple[str, ...]
    at_ms: int | None
    at_step: int | None
    autoplay: bool
    theme: str

    def key(self) -> tuple[str, ...]:
        """The parts of a page-cache key (`pagecache`)."""
        at = "" if self.at_ms is None else str(self.at_ms)
        step = "" if self.at_step is None else str(self.at_step)
        return (",".join(self.panels), at, step, str(int(self.autoplay)), self.theme)

    def shows(self, panel: str) -> bool:
        if panel in ("strip", "chart") and "stage" in self.panels:
            return True
        return panel in self.panels


def is_replication(scenario: Scenario) -> bool:
    """A story about replicas: a broker fault, or a topic that sets min.insync.replicas or
    unclean election (most scenarios have three replicas; that alone tells nothing)."""
    if any(isinstance(f, BrokerFault) for f in scenario.faults):
        return True
    written = [t.get("config") or {} for t in scenario.source.get("topics", [])]
    return any(
        "min.insync.replicas" in config or "unclean.leader.election.enable" in config
        for config in written
        if isinstance(config, dict)
    )


def default_panels(scenario: Scenario) -> tuple[str, ...]:
    if is_replication(scenario):
        return ("verdict", "cluster", "stage")
    return ("verdict", "stage", "log")


def _panels(raw: str | None, scenario: Scenario) -> tuple[str, ...]:
    if raw is None or not raw.strip():
        return default_panels(scenario)
    allowed = ", ".join(PANEL_ORDER)
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if len(names) > len(PANEL_ORDER):
        raise ScenarioError("panels", f"names {len(names)} panels", allowed=allowed)
    for name in names:
        if name not in PANELS:
            shown = name if len(name) <= 40 else name[:40] + "…"
            raise ScenarioError("panels", f"has an unknown panel {shown!r}", allowed=allowed)
    return tuple(p for p in PANEL_ORDER if p in names)


def _at(raw: str | None) -> tuple[int | None, int | None]:
    """`?at=<ms>` (simulated milliseconds, as on /r/) or `?at=step:<n>`: (ms, step)."""
    if raw is None or raw == "":
        return None, None
    if raw.startswith("step:"):
        return None, parse_int(raw[5:], "at", maximum=MAX_STEP)
    text = raw.removesuffix("ms")
    try:
        return parse_int(text, "at", maximum=MAX_DURATION_MS), None
    except ScenarioError as err:
        raise ScenarioError(
            "at",
            err.message,
            allowed=f"simulated milliseconds from 0 to {MAX_DURATION_MS} (e.g. 12000),"
            " or step:<n> for the n-th step",
        ) from None


def _choice(raw: str | None, field: str, allowed: tuple[str, ...], default: str) -> str:
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise ScenarioError(
            field, f"must be one of {', '.join(allowed)}, got {shown!r}", allowed=", ".join(allowed)
        )
    return raw


def options(query: Any, scenario: Scenario) -> EmbedOptions:
    """The embed's options from its query string; ScenarioError names a bad one."""
    at_ms, at_step = _at(query.get("at"))
    return EmbedOptions(
        panels=_panels(query.get("panels"), scenario),
        at_ms=at_ms,
        at_step=at_step,
        autoplay=_choice(query.get("autoplay"), "autoplay", ("0", "1"), "0") == "1",
        theme=_choice(query.get("theme"), "theme", THEMES, "light"),
    )


def start_ms(opts: EmbedOptions, frame_times: list[int]) -> int | None:
    """Where the player opens, in simulated ms (a step is turned into its frame's time)."""
    if opts.at_step is None:
        return opts.at_ms
    if not frame_times:
        return None
    return int(frame_times[min(opts.at_step, len(frame_times) - 1)])


def query_string(opts: EmbedOptions, scenario: Scenario) -> str:
    """The options that differ from the scenario's defaults, as a query string."""
    params: dict[str, str] = {}
    if opts.panels != default_panels(scenario):
        params["panels"] = ",".join(opts.panels)
    if opts.at_ms is not None:
        params["at"] = str(opts.at_ms)
    if opts.at_step is not None:
        params["at"] = f"step:{opts.at_step}"
    if opts.autoplay:
        params["autoplay"] = "1"
    if opts.theme != "light":
        params["theme"] = opts.theme
    return urlencode(params, safe=",:")


# --- what a host page pastes ------------------------------------------------------------------

RESIZE_SCRIPT = (
    "<script>addEventListener('message',function(e){var d=e.data;"
    "if(!d||d.type!=='playground:embed-height')return;"
    "document.querySelectorAll('iframe[data-playground-embed]').forEach(function(f){"
    "if(f.contentWindow===e.source)f.style.height=Math.ceil(d.height)+'px';});});</script>"
)


def iframe_html(src: str, title: str, width: int = DEFAULT_WIDTH) -> str:
    from django.utils.html import escape

    return (
        f'<iframe src="{escape(src)}" title="{escape(title)}" data-playground-embed'
        f' width="{width}" height="{DEFAULT_HEIGHT}" style="max-width:100%;border:0"'
        ' loading="lazy"></iframe>'
    )


def snippet(src: str, title: str) -> str:
    """The iframe and the few lines of script that let it set its own height."""
    return iframe_html(src, title) + "\n" + RESIZE_SCRIPT


# --- oEmbed -----------------------------------------------------------------------------------


def slug_from_url(url: str, host: str) -> str:
    """The link's slug, from a permalink or embed URL of this site; ScenarioError if not."""
    allowed = "a /r/<link> or /embed/<link> URL of this site"
    if not url:
        raise ScenarioError("url", "is missing", allowed=allowed)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != host.lower():
        shown = url if len(url) <= 80 else url[:80] + "…"
        raise ScenarioError("url", f"is not a link of this site: {shown!r}", allowed=allowed)
    try:
        match = resolve(parts.path)
    except Resolver404:
        match = None
    if match is None or match.url_name not in ("scenario", "embed"):
        raise ScenarioError("url", f"is not a scenario link: {parts.path!r}", allowed=allowed)
    return str(match.kwargs["slug"])


def oembed(
    title: str, embed_src: str, site: str, maxwidth: int | None, maxheight: int | None
) -> dict[str, Any]:
    """The oEmbed 1.0 "rich" answer: an iframe of the embed."""
    width = DEFAULT_WIDTH if maxwidth is None else max(MIN_WIDTH, min(maxwidth, DEFAULT_WIDTH))
    height = DEFAULT_HEIGHT if maxheight is None else min(maxheight, DEFAULT_HEIGHT)
    return {
        "version": "1.0",
        "type": "rich",
        "provider_name": "Kafka semantics playground",
        "provider_url": site + "/",
        "title": title,
        "width": width,
        "height": height,
        "html": iframe_html(embed_src, title, width).replace(
            f'height="{DEFAULT_HEIGHT}"', f'height="{height}"'
        ),
        "cache_age": 86400,
    }
