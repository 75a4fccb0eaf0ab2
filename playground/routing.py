"""Websocket routes (the HTTP ones are in urls.py)."""

from typing import Any

from django.urls import path

from playground.consumers import RunConsumer
from playground.room_consumer import RoomConsumer

# Channels routes ASGI applications with Django's path(), whose stubs expect views
runs: Any = RunConsumer.as_asgi()
rooms: Any = RoomConsumer.as_asgi()
websocket_urlpatterns = [
    path("ws/runs/<str:slug>", runs),
    path("ws/rooms/<str:code>", rooms),
]
