"""The Content-Security-Policy every response carries, and who may frame which page.

Scripts come only from this site's own files (`script-src 'self'`: no inline script, no
`eval`), so text a visitor stored cannot run even if a template forgot to escape it.
Styles allow `'unsafe-inline'`: plotly.js writes its own `<style>` and positions chart
parts with `style` attributes, as the player does its markers; a style cannot run code.
The websocket is same-origin (`connect-src 'self'` covers ws:/wss: to this host).

Framing: pages that `xframe_options_exempt` (the `/embed/` player) may be framed by
`settings.EMBED_FRAME_ANCESTORS` (default any site: `*`), every other page by nobody
(`frame-ancestors 'none'`, and X-Frame-Options: DENY from Django's middleware, which skips
exempt pages too, so the two headers always agree).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",  # blob: Plotly's PNG download draws its SVG via a blob URL
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


def content_security_policy(frameable: bool) -> str:
    ancestors = settings.EMBED_FRAME_ANCESTORS if frameable else "'none'"
    return "; ".join((*POLICY, f"frame-ancestors {ancestors}"))


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Sets the policy on every response a view makes (JSON too: it costs nothing; static
    files are answered by WhiteNoise, above this middleware, and need none)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        frameable = getattr(response, "xframe_options_exempt", False)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(frameable))
        return response
