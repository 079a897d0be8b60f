from django.urls import path

from insurdesk.servicing import views

app_name = "servicing"

urlpatterns = [
    path("", views.queue_view, name="queue"),
    path("policy/<int:pk>/new/", views.new_view, name="new"),
    path("policy/<int:pk>/panel/", views.policy_panel_view, name="policy_panel"),
    path(
        "policy/<int:pk>/endorsements/<int:endorsement_pk>/print/",
        views.endorsement_print_view,
        name="endorsement_print",
    ),
    path(
        "policy/<int:pk>/endorsements/<int:endorsement_pk>.pdf",
        views.endorsement_pdf_view,
        name="endorsement_pdf",
    ),
    path("<int:pk>/", views.detail_view, name="detail"),
    path("<int:pk>/approve/", views.approve_view, name="approve"),
    path("<int:pk>/reject/", views.reject_view, name="reject"),
    path("<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
    path("<int:pk>/documents/", views.documents_view, name="documents"),
    path("<int:pk>/underwrite/", views.underwrite_view, name="underwrite"),
]
