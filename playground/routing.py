"""The ASGI application: HTTP to Django, and the reconcile loops as Channels workers by channel name."""

from channels.routing import ChannelNameRouter, ProtocolTypeRouter

from cluster_core.workers import loop_consumers
from playground.asgi import django_asgi

application = ProtocolTypeRouter(
    {
        "http": django_asgi,
        "channel": ChannelNameRouter(loop_consumers()),
    }
)
