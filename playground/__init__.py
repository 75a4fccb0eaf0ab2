"""The Django project and web app of the Kafka semantics playground.

Views render pages and HTMX partials, a Channels consumer streams a computed run over a
websocket, `runner` runs simulations in a worker pool. Simulation logic lives in `simcore`.
"""
