"""WebSocket routes, collected from the feature apps by dotted path."""

from __future__ import annotations

from importlib import import_module

SOCKET_ROUTE_MODULES = ["messaging.routing"]

websocket_urlpatterns = [
    route for module in SOCKET_ROUTE_MODULES for route in import_module(module).websocket_urlpatterns
]
