"""`python manage.py playground`: Daphne (page over http, API over https) and, unless --no-workers, every loop."""

import asyncio
import logging
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from playground import lan

log = logging.getLogger(__name__)


def allow_hosts(addresses: list[str]) -> None:
    """Add the LAN addresses to the allowed hosts (and, for the page's forms, the trusted origins) unless every host
    is allowed already."""
    if "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, *(a for a in addresses if a not in settings.ALLOWED_HOSTS)]
    trusted = list(getattr(settings, "CSRF_TRUSTED_ORIGINS", []))
    if trusted:
        settings.CSRF_TRUSTED_ORIGINS = [*trusted, *(f"http://{lan.url_host(a)}" for a in addresses)]


def command_name() -> str:
    return "kubeplay" if Path(sys.argv[0]).name == "kubeplay" else "python manage.py"


# The loops, the lesson checker, the API's requests and the sockets all take turns on one interpreter lock, mostly in
# short steps between two queries: a thread that computes hands it on after 1 ms rather than Python's 5 ms, so a
# checker's look waiting for its turn is not held behind every busy thread for 5 ms at each query.
SWITCH_INTERVAL = 0.001
# How long a WebSocket's peer has to answer the server's close frame before the server aborts the connection.
# Autobahn's default is 1 s, and an abort is a TCP reset: a kubectl that was still reading an exec's
# last frames on a busy machine lost them ("connection reset by peer").
CLOSE_HANDSHAKE_TIMEOUT = 15.0


class Command(BaseCommand):
    help = "Start the playground: web page, Kubernetes API (TLS) and the reconcile loops, in one process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--lan", action="store_true",
                            help="serve the room's network: bind every interface (--host 0.0.0.0) and print the "
                                 "address students type")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--api-port", type=int, default=6443)
        parser.add_argument("--tempo", choices=["instant", "realtime", "classroom"], default=None)
        parser.add_argument("--no-workers", action="store_true",
                            help="serve HTTP only; run the loops with `manage.py runworker` (needs REDIS_URL)")
        parser.add_argument("--no-ticker", action="store_true", help="do not run the resync/due-time ticker here")

    def handle(self, *args, **opts):
        if opts["lan"]:
            opts["host"] = "0.0.0.0"
        # Bound to every interface: the page and the API answer on this machine's LAN addresses, which the allowed
        # hosts and the API certificate name (nothing else is opened up). Before the application is imported: the
        # WebSocket origin check reads the allowed hosts once.
        shown = lan.addresses() if opts["host"] in lan.WILDCARD_HOSTS else []
        allow_hosts(shown)
        if opts["host"] not in lan.WILDCARD_HOSTS:
            allow_hosts([lan.url_host(opts["host"])])  # bound to one address: the page answers on it
        if not settings.KUBEPLAY_PUBLIC_HOST:
            # The kubeconfig's server: the address students reach (configured, never a request's Host header).
            settings.KUBEPLAY_PUBLIC_HOST = shown[0] if shown else (
                "127.0.0.1" if opts["host"] in lan.WILDCARD_HOSTS else opts["host"])
        import daphne.server  # noqa: F401  (installs the asyncio reactor before anything imports twisted)
        from channels.layers import get_channel_layer
        from daphne.server import Server
        from twisted.internet import reactor

        from cluster_core import bootstrap, nudge, seedcopy, ticker
        from cluster_core.api import tls
        from cluster_core.tempo import set_tempo
        from cluster_core.workers import SteadyWorker
        from playground import serving
        from playground.asgi import application

        if opts["no_workers"] and "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError("--no-workers needs a shared channel layer: set REDIS_URL")
        serving.install()
        sys.setswitchinterval(SWITCH_INTERVAL)
        pg = bootstrap.get_or_create_default()
        # New playgrounds are copies of the seed's cluster booted once per process: boot it now, not in the
        # first learner's request.
        seedcopy.template()
        if opts["tempo"]:
            set_tempo(pg, opts["tempo"])
        settings.KUBEPLAY_API_PORT = opts["api_port"]
        settings.KUBEPLAY_PAGE_PORT = opts["port"]
        public = [settings.KUBEPLAY_PUBLIC_HOST] if settings.KUBEPLAY_PUBLIC_HOST else []
        cert, key, _ = tls.ensure([opts["host"], *shown, *public])
        host = opts["host"].replace(":", r"\:")
        endpoints = [
            f"tcp:port={opts['port']}:interface={host}",
            f"ssl:port={opts['api_port']}:interface={host}:privateKey={key}:certKey={cert}",
        ]
        layer = get_channel_layer()

        def start_background():
            # (Autobahn's setProtocolOptions resets allowNullOrigin unless it is given again.)
            server.ws_factory.setProtocolOptions(closeHandshakeTimeout=CLOSE_HANDSHAKE_TIMEOUT,
                                                 allowNullOrigin=server.ws_factory.allowNullOrigin)
            if not opts["no_workers"]:
                worker = SteadyWorker(application=application, channels=nudge.LOOP_CHANNELS, channel_layer=layer)
                asyncio.ensure_future(worker.handle())
            if not opts["no_ticker"]:
                asyncio.ensure_future(ticker.run())

        reactor.callWhenRunning(start_background)
        self.stdout.write(
            f"kubeplay: start page http://{opts['host']}:{opts['port']}/  "
            f"default playground http://{opts['host']}:{opts['port']}/p/{pg.slug}/  "
            f"API https://{opts['host']}:{opts['api_port']}/clusters/{pg.slug}  "
            f"(kubeconfig: {command_name()} kubeconfig {pg.slug})"
        )
        start = reverse("index")
        for address in shown:
            self.stdout.write(f"kubeplay: on this network open http://{lan.url_host(address)}:{opts['port']}{start}  "
                              f"(API https://{lan.url_host(address)}:{opts['api_port']})")
        # Open watches end with the process: do not hold shutdown for them.
        server = Server(application=application, endpoints=endpoints, verbosity=0, application_close_timeout=2)
        server.run()
