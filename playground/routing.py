"""The ASGI application: HTTP to Django, the page's live feed over WebSocket, and the reconcile loops as Channels
workers by channel name."""

from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.urls import path

from cluster_core.api.streams import StreamRouter
from cluster_core.workers import loop_consumers
from playground.asgi import api_asgi, django_asgi
from playground.classroom.consumers import ConsoleConsumer, StudentConsumer
from playground.consumers import PlaygroundConsumer
from playground.guards import NetworkGuard, is_api_path, over_tls

websocket_urlpatterns = [
    path("ws/p/<slug:slug>/", PlaygroundConsumer.as_asgi()),
    path("ws/class/console/<slug:token>/", ConsoleConsumer.as_asgi()),
    path("ws/class/student/<slug:key>/", StudentConsumer.as_asgi()),
]


class ApiOrPage:
    """The Kubernetes API's requests (the guard lets them through only over TLS) to the API's handler; the rest to
    the page's (with its static files)."""

    def __init__(self, api, page):
        self.api, self.page = api, page

    async def __call__(self, scope, receive, send):
        if is_api_path(scope.get("path", "")) and over_tls(scope):
            return await self.api(scope, receive, send)
        return await self.page(scope, receive, send)


application = ProtocolTypeRouter(
    {
        # The page's CSS/JS and vendored htmx are served by the same process: the playground works offline,
        # with no separate web server in front.
        # The guard: the API only over TLS, bodies and URLs within limits, WebSockets only from the page's origin.
        "http": NetworkGuard(ApiOrPage(api_asgi, ASGIStaticFilesHandler(django_asgi))),
        # exec, attach and port-forward upgrades of the Kubernetes API first; then the page's own sockets.
        "websocket": NetworkGuard(StreamRouter(URLRouter(websocket_urlpatterns))),
        "channel": ChannelNameRouter(loop_consumers()),
    }
)
