"""`python manage.py bench converge|api|live …` — benchmarks that print their figures last."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Benchmarks: converge (loops), api (the served HTTPS API), live (WebSocket viewers), playgrounds "
            "(creation time, idle cost), hostile (the hostile corpus replayed).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="which", required=True)
        c = sub.add_parser("converge", help="scale one Deployment 0 → N at tempo instant")
        c.add_argument("--pods", type=int, default=1000)
        c.add_argument("--nodes", type=int, default=50)
        a = sub.add_parser("api", help="latency over HTTPS of lists, a GET, a PATCH and its watch event")
        a.add_argument("--pods", type=int, default=1000)
        a.add_argument("--samples", type=int, default=1000)
        live = sub.add_parser("live", help="WebSocket viewers while a deployment scales")
        live.add_argument("--viewers", type=int, default=200)
        live.add_argument("--pods", type=int, default=200)
        hostile = sub.add_parser("hostile", help="the hostile request corpus replayed: the server's memory and CPU")
        hostile.add_argument("--rounds", type=int, default=100)
        hostile.add_argument("--idle", type=float, default=10.0, help="seconds of CPU measured after the replay")
        pgs = sub.add_parser("playgrounds", help="start N playgrounds, then the server's CPU and memory while idle")
        pgs.add_argument("--idle", type=int, default=300, help="how many playgrounds to start and leave idle")
        pgs.add_argument("--settle", type=float, default=75.0,
                         help="seconds to wait before measuring (past the 60 s a written playground counts as active)")
        pgs.add_argument("--window", type=float, default=60.0, help="seconds of idle measured")
        cls = sub.add_parser("classroom", help="an instructor and N students: lessons, the console, follow me")
        cls.add_argument("--students", type=int, default=60)
        cls.add_argument("--scaleout", action="store_true",
                         help="PostgreSQL + Redis (KUBEPLAY_SCALEOUT_DATABASE_URL / _REDIS_URL), 2 web processes "
                              "and 2 workers, instead of the embedded default")

    def handle(self, *args, **opts):
        which = opts["which"]
        # A fresh data directory has no tables yet: bring the schema up to date first, as `make run` does.
        call_command("migrate", verbosity=0, interactive=False)
        if which == "converge":
            from playground.bench.converge import run

            run(self.stdout, pods=opts["pods"], nodes=opts["nodes"])
        elif which == "api":
            from playground.bench.api import run

            run(self.stdout, pods=opts["pods"], samples=opts["samples"])
        elif which == "hostile":
            from playground.bench.hostile import run

            run(self.stdout, rounds=opts["rounds"], idle=opts["idle"])
        elif which == "classroom":
            from playground.bench.classroom import run

            run(self.stdout, students=opts["students"], scaleout=opts["scaleout"])
        elif which == "playgrounds":
            from playground.bench.playgrounds import run

            run(self.stdout, count=opts["idle"], settle=opts["settle"], window=opts["window"])
        else:
            from playground.bench.live import run

            run(self.stdout, viewers=opts["viewers"], pods=opts["pods"])
