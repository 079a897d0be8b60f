from django.urls import path

from insurdesk.applications import views

app_name = "applications"

urlpatterns = [
    path("", views.application_list_view, name="list"),
    path("queues/", views.queues_view, name="queues"),
    path("new/", views.application_create_view, name="create"),
    path("lookup/", views.customer_lookup_view, name="lookup"),
    path("problems/", views.problems_view, name="problems"),
    path("stats/entry-errors/", views.entry_errors_view, name="entry_errors"),
    path("<int:pk>/", views.application_detail_view, name="detail"),
    path("<int:pk>/edit/", views.application_edit_view, name="edit"),
    path("<int:pk>/second-entry/", views.second_entry_view, name="second_entry"),
    path("<int:pk>/problems/new/", views.problem_raise_view, name="problem_raise"),
    path("<int:pk>/problems/<int:pid>/", views.problem_resolve_view, name="problem_resolve"),
    path("<int:pk>/problems/<int:pid>/take/", views.problem_assign_view, name="problem_assign"),
    path("<int:pk>/problems/<int:pid>/send/", views.problem_send_view, name="problem_send"),
    path("<int:pk>/problems/<int:pid>/reply/", views.problem_reply_view, name="problem_reply"),
    path("<int:pk>/submit/", views.submit_view, name="submit"),
    path("<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
    path("<int:pk>/recording/", views.recording_view, name="recording"),
    path("<int:pk>/recording/check/", views.recording_check_view, name="recording_check"),
    path("<int:pk>/recording/file/", views.recording_file_view, name="recording_file"),
]
