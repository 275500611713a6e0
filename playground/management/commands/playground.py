"""`python manage.py playground`: Daphne (page over http, API over https) and, unless --no-workers, every loop."""

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Start the playground: web page, Kubernetes API (TLS) and the reconcile loops, in one process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--api-port", type=int, default=6443)
        parser.add_argument("--tempo", choices=["instant", "realtime", "classroom"], default=None)
        parser.add_argument("--no-workers", action="store_true",
                            help="serve HTTP only; run the loops with `manage.py runworker` (needs REDIS_URL)")
        parser.add_argument("--no-ticker", action="store_true", help="do not run the resync/due-time ticker here")

    def handle(self, *args, **opts):
        import daphne.server  # noqa: F401  (installs the asyncio reactor before anything imports twisted)
        from channels.layers import get_channel_layer
        from channels.worker import Worker
        from daphne.server import Server
        from twisted.internet import reactor

        from cluster_core import bootstrap, nudge, ticker
        from cluster_core.api import tls
        from cluster_core.tempo import set_tempo
        from playground.asgi import application

        if opts["no_workers"] and "InMemory" in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
            raise CommandError("--no-workers needs a shared channel layer: set REDIS_URL")
        pg = bootstrap.get_or_create_default()
        if opts["tempo"]:
            set_tempo(pg, opts["tempo"])
        settings.KUBEPLAY_API_PORT = opts["api_port"]
        cert, key, _ = tls.ensure([opts["host"]])
        host = opts["host"].replace(":", r"\:")
        endpoints = [
            f"tcp:port={opts['port']}:interface={host}",
            f"ssl:port={opts['api_port']}:interface={host}:privateKey={key}:certKey={cert}",
        ]
        layer = get_channel_layer()

        def start_background():
            if not opts["no_workers"]:
                worker = Worker(application=application, channels=nudge.LOOP_CHANNELS, channel_layer=layer)
                asyncio.ensure_future(worker.handle())
            if not opts["no_ticker"]:
                asyncio.ensure_future(ticker.run())

        reactor.callWhenRunning(start_background)
        self.stdout.write(
            f"kubeplay: page http://{opts['host']}:{opts['port']}/  "
            f"API https://{opts['host']}:{opts['api_port']}/clusters/{pg.slug}  "
            f"(kubeconfig: python manage.py kubeconfig {pg.slug})"
        )
        # Open watches end with the process: do not hold shutdown for them.
        Server(application=application, endpoints=endpoints, verbosity=0, application_close_timeout=2).run()
