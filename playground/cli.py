"""`kubeplay`: the playground's commands for an installed copy (a checkout uses `manage.py` and `make run`).

    kubeplay [run] [--host H | --lan] [--port P] [--api-port A] [--tempo T]   migrate, then start the playground
    kubeplay kubeconfig [PLAYGROUND] [--server URL]                            print a kubeconfig
    kubeplay bench converge|api|live …                                         benchmarks
    kubeplay COMMAND …                                                         any Django management command
"""

from __future__ import annotations

import os
import sys

COMMANDS = (
    ("run", "migrate the database, then start the page, the API (TLS) and the loops (the default command)"),
    ("kubeconfig", "print a kubeconfig for a playground (`kubeplay kubeconfig --help`)"),
    ("bench", "converge | api | live: benchmarks that print their figures (`kubeplay bench --help`)"),
    ("help", "every command, Django's included"),
)


def usage() -> str:
    from django.conf import settings

    from playground.management.commands.playground import Command

    run_help = Command().create_parser("kubeplay", "run").format_help()
    lines = ["usage: kubeplay [COMMAND] [options]", "", "commands:"]
    lines += [f"  {name:<12}{what}" for name, what in COMMANDS]
    lines += ["", f"data directory: {settings.DATA_DIR} (KUBEPLAY_DATA_DIR overrides)", "", run_help]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    if args in (["-h"], ["--help"]):
        sys.stdout.write(usage())
        return
    if not args or args[0].startswith("-"):
        args = ["run", *args]
    if args[0] == "run":
        if not {"-h", "--help"} & set(args):
            execute_from_command_line(["kubeplay", "migrate", "--noinput", "--verbosity", "0"])
        args = ["playground", *args[1:]]
    execute_from_command_line(["kubeplay", *args])


if __name__ == "__main__":
    main()
