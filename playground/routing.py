"""Websocket routes (the HTTP ones are in urls.py)."""

from django.urls import path

from playground.consumers import RunConsumer

websocket_urlpatterns = [
    path("ws/runs/<str:slug>", RunConsumer.as_asgi()),
]
