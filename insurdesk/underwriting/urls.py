from django.urls import path

from insurdesk.underwriting import views

app_name = "underwriting"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("<int:pk>/", views.case_view, name="case"),
    path("<int:pk>/open/", views.open_view, name="open"),
    path("<int:pk>/decide/", views.decide_view, name="decide"),
    path("<int:pk>/take/", views.take_view, name="take"),
]
