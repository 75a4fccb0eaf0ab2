"""ASGI entry point: plain Django for HTTP, Channels for websockets (origin-checked).

Both sit behind the guards of `playground.guards`: HTTP bodies are counted as they arrive
(over the limit: 413), and a websocket's Origin must be this site's scheme, host and port.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
# Set up Django (apps, models) before importing anything that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import WebsocketDenier  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402

from playground import runner, wsoptions  # noqa: E402
from playground.admission import CallerWatch  # noqa: E402
from playground.fastpages import FastPages  # noqa: E402
from playground.guards import RequestBodyLimit, WebsocketOriginValidator  # noqa: E402
from playground.routing import websocket_urlpatterns  # noqa: E402
from playground.threads import PooledThreads  # noqa: E402

wsoptions.install()  # a websocket message over 1 MiB closes with 1009, not a dropped line

if settings.RUN_PREWARM:  # the workers start with the server, not on the first run
    runner.prewarm()

# Any other websocket path is refused at the handshake (URLRouter alone raises, a 500).

denier: Any = WebsocketDenier.as_asgi()  # an ASGI app where Django's stubs expect a view
websocket_routes: list[Any] = [*websocket_urlpatterns, re_path(r"", denier)]

application = ProtocolTypeRouter(
    {
        # CallerWatch: who asks (rate limits) and whether they are still there (runner)
        # FastPages: a kept page's GET answered on the event loop, without Django's thread
        # PooledThreads: Django's per-request thread from a pool of kept ones
        "http": CallerWatch(RequestBodyLimit(FastPages(PooledThreads(django_asgi_app)))),
        "websocket": WebsocketOriginValidator(URLRouter(websocket_routes)),
    }
)
