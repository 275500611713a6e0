import gc

from django.apps import AppConfig


class ClusterCoreConfig(AppConfig):
    name = "cluster_core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Everything loaded at start-up (Django, the models, every loop module) lives as long as the process.
        # Moving it out of the collector's generations keeps each full collection from walking ~80k objects
        # again: a burst of a thousand pods triggers several, and they cost ~40 ms each otherwise.
        from channels.management.commands import runworker

        from . import runtime, workers

        # `runworker` keeps listening through a Redis restart (see SteadyWorker).
        runworker.Command.worker_class = workers.SteadyWorker

        for channel in runtime.ORDER:
            runtime.loop(channel)
        gc.collect()
        gc.freeze()
        # A young generation of 10 000 allocations instead of 700: requests and pushes build bodies (dicts and
        # lists by the thousand, alive until answered) faster than collections can free any of them, and 14 times
        # fewer young collections walk them 14 times less often. (While a reconcile runs the collector is paused
        # altogether: `gcpause`.)
        gc.set_threshold(10_000, 10, 10)
