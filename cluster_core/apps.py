from django.apps import AppConfig


class ClusterCoreConfig(AppConfig):
    name = "cluster_core"
    default_auto_field = "django.db.models.BigAutoField"
