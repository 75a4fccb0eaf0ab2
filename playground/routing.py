"""Websocket routes (the HTTP ones are in urls.py)."""

from django.urls import path

from playground.consumers import RunConsumer
from playground.room_consumer import RoomConsumer

websocket_urlpatterns = [
    path("ws/runs/<str:slug>", RunConsumer.as_asgi()),
    path("ws/rooms/<str:code>", RoomConsumer.as_asgi()),
]
