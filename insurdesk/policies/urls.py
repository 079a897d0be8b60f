from django.urls import path

from insurdesk.policies import views

app_name = "policies"

urlpatterns = [
    path("", views.policy_list_view, name="list"),
    path("search/", views.search_view, name="search"),
    path("to-issue/", views.to_issue_view, name="to_issue"),
    path("issue/<int:pk>/", views.issue_view, name="issue"),
    path("due/", views.due_list_view, name="due"),
    path("payments/new/", views.payment_new_view, name="payment_new"),
    path("customer/<int:pk>/", views.customer_policies_view, name="customer_policies"),
    path("<int:pk>/", views.policy_detail_view, name="detail"),
    path("<int:pk>/print/", views.print_view, name="print"),
    path("<int:pk>/schedule.pdf", views.pdf_view, name="pdf"),
    path("<int:pk>/receipt/", views.receipt_view, name="receipt"),
    path("<int:pk>/cancel/", views.cancel_view, name="cancel"),
    path("<int:pk>/members/add/", views.member_add_view, name="member_add"),
    path("<int:pk>/members/import/", views.members_import_view, name="members_import"),
    path("<int:pk>/members/<int:member_pk>/remove/", views.member_remove_view, name="member_remove"),
]
