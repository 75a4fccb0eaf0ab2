"""Sharing a run: the embed for iframes, oEmbed, and the share page with the snippet that
sizes the iframe (issue 12). Exports are in `export_views`.

Pages here go through `pagecache` like the scenario page: rendered once per run and
options, the CSRF token (if any) replaced per visitor.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from playground import caching, embeds, runner
from playground.errors import error_page, scenario_error_payload, scenario_error_response
from playground.lookup import scenario_or_404
from playground.numbers import parse_int
from playground.panels import cached_page, kept_seconds, panels_context, run_context
from simcore import ScenarioError


def site_of(request: HttpRequest) -> str:
    """This site's scheme and host, as the visitor reached it (Host is checked against
    ALLOWED_HOSTS, so this is one of a known few)."""
    return f"{request.scheme}://{request.get_host()}"


@require_safe
@xframe_options_exempt
def embed(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = scenario_or_404(slug)
    try:
        opts = embeds.options(request.GET, scenario)
    except ScenarioError as err:
        return error_page(request, scenario_error_payload(err))

    def build() -> tuple[dict[str, Any], float | None]:
        context: dict[str, Any] = {"slug": slug, "scenario": scenario, **run_context(scenario)}
        run = context["run"]
        if not context["run_error"] or run.get("partial"):
            if opts.shows("cluster"):
                context.update(panels_context(scenario, run))
            context["start_ms"] = embeds.start_ms(opts, run["frame_times"])
        show = {name: opts.shows(name) for name in embeds.PANELS}
        context.update(opts=opts, show=show)
        return context, kept_seconds(scenario)

    key = (slug, runner.key_of(scenario), *opts.key())
    return cached_page(
        request, scenario, "playground/embed.html", key, build, cache_control=caching.EMBED
    )


@require_safe
def oembed(request: HttpRequest) -> HttpResponse:
    """oEmbed 1.0 (https://oembed.com): `?url=` a permalink or embed URL of this site,
    optional `maxwidth`, `maxheight`; JSON only."""
    site = site_of(request)
    try:
        fmt = request.GET.get("format", "json")
        if fmt != "json":
            return scenario_error_response(
                ScenarioError("format", f"must be json, got {fmt[:20]!r}", allowed="json"),
                status=501,
            )
        slug = embeds.slug_from_url(request.GET.get("url", ""), request.get_host())
        maxwidth = _optional(request, "maxwidth")
        maxheight = _optional(request, "maxheight")
    except ScenarioError as err:
        return scenario_error_response(err)
    scenario = scenario_or_404(slug)
    embed_src = site + reverse("embed", args=[slug])
    answer = embeds.oembed(scenario.name, embed_src, site, maxwidth, maxheight)
    return JsonResponse(answer)


def _optional(request: HttpRequest, field: str) -> int | None:
    raw = request.GET.get(field)
    if raw is None or raw == "":
        return None
    return parse_int(raw, field, minimum=1, maximum=10_000)


@require_safe
def share(request: HttpRequest, slug: str) -> HttpResponse:
    """Embed (with its options), the snippet that sizes the iframe, oEmbed, exports."""
    scenario = scenario_or_404(slug)
    query = request.GET.copy()
    if "panel" in query:  # the form's checkboxes, without JavaScript to fold them
        query["panels"] = ",".join(query.getlist("panel"))
    try:
        opts = embeds.options(query, scenario)
    except ScenarioError as err:
        return error_page(request, scenario_error_payload(err))
    site = site_of(request)
    options = embeds.query_string(opts, scenario)
    embed_src = site + reverse("embed", args=[slug]) + (f"?{options}" if options else "")
    permalink = site + reverse("scenario", args=[slug])
    context = {
        "slug": slug,
        "scenario": scenario,
        "opts": opts,
        "panel_choices": [(name, embeds.PANELS[name]) for name in embeds.PANEL_ORDER],
        "default_panels": embeds.default_panels(scenario),
        "embed_src": embed_src,
        "snippet": embeds.snippet(embed_src, scenario.name),
        "oembed_url": f"{site}{reverse('oembed')}?{urlencode({'url': permalink})}",
        "permalink": permalink,
        "exports": export_links(slug),
    }
    return render(request, "playground/share.html", context)


def export_links(slug: str) -> list[dict[str, str]]:
    from playground.export_views import export_links as links

    return links(slug)
