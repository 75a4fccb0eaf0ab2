from django.urls import path

from playground import (
    acl_views,
    api,
    connect_views,
    course_views,
    edits,
    export_views,
    import_views,
    incident,
    pages,
    room_views,
    share_views,
)

handler400 = "playground.errors.bad_request"

urlpatterns = [
    path("", pages.gallery, name="gallery"),
    path("incident", incident.form_view, name="incident"),
    path("acls", acl_views.acl_check, name="acls"),
    path("connect", connect_views.connect_check, name="connect"),
    path("course/<str:name>", course_views.course_page, name="course"),
    path("course/<str:name>/<int:number>", course_views.course_step, name="course_step"),
    path("courses/new", course_views.new_course, name="course_new"),
    path("c/<str:course_id>", course_views.custom_course_page, name="custom_course"),
    path(
        "c/<str:course_id>/<int:number>", course_views.custom_course_step, name="custom_course_step"
    ),
    path("r/<str:slug>", pages.scenario_page, name="scenario"),
    path("r/<str:slug>/edit", edits.edit_yaml, name="edit_yaml"),
    path("r/<str:slug>/quick", edits.edit_quick, name="edit_quick"),
    path("r/<str:slug>/crash", edits.crash, name="crash"),
    path("r/<str:slug>/inject", edits.inject, name="inject"),
    path("r/<str:slug>/compare", edits.compare_with, name="compare_with"),
    path("r/<str:slug>/story", pages.story, name="story"),
    path("compare/<str:old_slug>/<str:new_slug>", pages.compare_page, name="compare"),
    path("metrics/<str:slug>", api.metrics_text, name="metrics"),
    path("r/<str:slug>/share", share_views.share, name="share"),
    path("r/<str:slug>/export/<str:name>", export_views.download, name="export"),
    path("r/<str:slug>/import", import_views.import_config, name="import_config"),
    path("r/<str:slug>/config/<str:name>", import_views.client_config, name="client_config"),
    path("embed/<str:slug>", share_views.embed, name="embed"),
    path("oembed", share_views.oembed, name="oembed"),
    path("api/scenarios/<str:slug>", api.api_scenario, name="api_scenario"),
    path("api/run", api.api_run, name="api_run"),
    path("rooms/new", room_views.new_room, name="room_new"),
    path("rooms/join", room_views.join, name="room_join"),
    path("room/<str:code>", room_views.room_page, name="room"),
    path("room/<str:code>/outcome", room_views.outcome, name="room_outcome"),
    path("room/<str:code>/host/<str:token>", room_views.host_page, name="room_host"),
    path("room/<str:code>/host/<str:token>/inject", room_views.inject, name="room_inject"),
]
