from django.urls import path

from insurdesk.claims import views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list_view, name="list"),
    path("report/", views.claim_report_view, name="report"),
    path("<int:pk>/", views.claim_detail_view, name="detail"),
    path("<int:pk>/documents/", views.claim_documents_view, name="documents"),
    path("<int:pk>/assess/", views.claim_assess_view, name="assess"),
    path("<int:pk>/decide/", views.claim_decide_view, name="decide"),
    path("<int:pk>/approve/", views.claim_approve_view, name="approve"),
    path("<int:pk>/pay/", views.claim_pay_view, name="pay"),
    path("<int:pk>/advance/", views.claim_advance_view, name="advance"),
    path("<int:pk>/close/", views.claim_close_view, name="close"),
    path("<int:pk>/reopen/", views.claim_reopen_view, name="reopen"),
    path("<int:pk>/notices/<int:notice_pk>/", views.claim_notice_view, name="notice"),
    path("<int:pk>/notices/<int:notice_pk>/sent/", views.claim_notice_sent_view, name="notice_sent"),
    path("customer/<int:pk>/", views.customer_claims_view, name="customer_claims"),
]
