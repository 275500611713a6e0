from django.core.management.base import BaseCommand, CommandError

from cluster_core import kubeconfig
from cluster_core.api import tls
from cluster_core.models import Playground


class Command(BaseCommand):
    help = "Print a kubeconfig for a playground (default: the playground named 'default')."

    def add_arguments(self, parser):
        parser.add_argument("playground", nargs="?", default="default")
        parser.add_argument("--server", default="https://127.0.0.1:6443")

    def handle(self, *args, **opts):
        pg = Playground.objects.filter(slug=opts["playground"]).first()
        if pg is None:
            raise CommandError(f"no playground named {opts['playground']!r}")
        _, _, ca = tls.ensure()
        self.stdout.write(kubeconfig.render(pg, opts["server"], ca.read_bytes()), ending="")
