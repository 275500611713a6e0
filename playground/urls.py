from django.urls import path, re_path

from cluster_core.api import views as api

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    re_path(r"^clusters/(?P<slug>[-a-z0-9]+)/?(?P<path>.*)$", api.dispatch, name="kube-api"),
]
