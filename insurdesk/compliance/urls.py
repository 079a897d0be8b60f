from django.urls import path

from insurdesk.compliance import views

app_name = "compliance"

urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("audit/verify/", views.audit_verify_view, name="audit_verify"),
    path("queues/<slug:name>/", views.queue, name="queue"),
    path("customers/<int:pk>/", views.customer_aml_view, name="customer_aml"),
    path("customers/<int:pk>/rate/", views.customer_rate, name="customer_rate"),
    path("customers/<int:pk>/review/", views.customer_review, name="customer_review"),
    path("customers/<int:pk>/flags/", views.flag_raise, name="flag_raise"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer_panel"),
    path("customers/<int:pk>/consents/", views.consent_add, name="consent_add"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw_view, name="consent_withdraw"),
    path("flags/", views.flags, name="flags"),
    path("flags/<int:pk>/review/", views.flag_review, name="flag_review"),
    path("checks/", views.checks, name="checks"),
    path("checks/run/", views.checks_run, name="checks_run"),
    path("tasks/", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/action/", views.task_action, name="task_action"),
    path("requests/", views.pi_requests, name="pi_requests"),
    path("requests/new/", views.pi_request_create, name="pi_request_create"),
    path("requests/<int:pk>/", views.pi_request_detail, name="pi_request_detail"),
    path("requests/<int:pk>/action/", views.pi_request_action, name="pi_request_action"),
]
