from django.urls import path

from . import views

urlpatterns = [
    path("class/start", views.start, name="class-start"),
    path("class/join", views.join_code, name="class-join-code"),
    path("join/<slug:token>/", views.join, name="class-join"),
    path("class/hand/<slug:key>", views.hand, name="class-hand"),
    path("class/<slug:token>/", views.console, name="class-console"),
    path("class/<slug:token>/controls", views.controls, name="class-controls"),
    path("class/<slug:token>/follow", views.follow, name="class-follow"),
    path("class/<slug:token>/blank", views.blank, name="class-blank"),
    path("class/<slug:token>/push", views.push, name="class-push"),
    path("class/<slug:token>/tempo", views.tempo, name="class-tempo"),
    path("class/<slug:token>/show-join", views.show_join, name="class-show-join"),
    path("class/<slug:token>/students/<int:student>/reset", views.reset_student, name="class-reset"),
    path("class/<slug:token>/end", views.end, name="class-end"),
    path("class/<slug:token>/present", views.present, name="class-present"),
]
