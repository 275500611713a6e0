"""The ASGI application: HTTP to Django, the page's live feed over WebSocket, and the reconcile loops as Channels
workers by channel name."""

from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.urls import path

from cluster_core.api.streams import StreamRouter
from cluster_core.workers import loop_consumers
from playground.asgi import django_asgi
from playground.consumers import PlaygroundConsumer

websocket_urlpatterns = [
    path("ws/p/<slug:slug>/", PlaygroundConsumer.as_asgi()),
]

application = ProtocolTypeRouter(
    {
        # The page's CSS/JS and vendored htmx are served by the same process: the playground works offline,
        # with no separate web server in front.
        "http": ASGIStaticFilesHandler(django_asgi),
        # exec, attach and port-forward upgrades of the Kubernetes API first; then the page's own sockets.
        "websocket": StreamRouter(AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))),
        "channel": ChannelNameRouter(loop_consumers()),
    }
)
