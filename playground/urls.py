from django.urls import include, path, re_path

from cluster_core.api import views as api

from . import lessons, views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    re_path(r"^clusters/(?P<slug>[-a-z0-9]+)/?(?P<path>.*)$", api.dispatch, name="kube-api"),
    re_path(r"^(?P<path>(api|apis|openapi|version)(/.*)?)$", api.dispatch_root, name="kube-api-root"),
    path("", views.index, name="index"),
    path("start", views.start, name="start"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("playground.classroom.urls")),
    path("p/<slug:slug>/", views.page, name="page"),
    path("p/<slug:slug>/deploy", views.deploy, name="deploy"),
    path("p/<slug:slug>/expose", views.expose, name="expose"),
    path("p/<slug:slug>/scale", views.scale, name="scale"),
    path("p/<slug:slug>/set-image", views.set_image, name="set-image"),
    path("p/<slug:slug>/rollback", views.rollback, name="rollback"),
    path("p/<slug:slug>/revisions", views.revisions, name="revisions"),
    path("p/<slug:slug>/delete", views.delete, name="delete"),
    path("p/<slug:slug>/curl", views.curl, name="curl"),
    path("p/<slug:slug>/terminal", views.terminal, name="terminal"),
    path("p/<slug:slug>/tempo", views.tempo, name="tempo"),
    path("p/<slug:slug>/reset", views.reset, name="reset"),
    path("p/<slug:slug>/history", views.history, name="history"),
    path("p/<slug:slug>/why/<str:kind>/<str:namespace>/<str:name>", views.why, name="why"),
    path("p/<slug:slug>/kubeconfig", views.download_kubeconfig, name="kubeconfig"),
    path("p/<slug:slug>/lessons/", lessons.panel, name="lessons"),
    path("p/<slug:slug>/lessons/start", lessons.start, name="lesson-start"),
    path("p/<slug:slug>/lessons/do", lessons.do, name="lesson-do"),
    path("p/<slug:slug>/lessons/predict", lessons.predict, name="lesson-predict"),
    path("p/<slug:slug>/failure", lessons.failure, name="failure"),
]
