from django.urls import path

from insurdesk.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("", views.index, name="index"),
    path("records/", views.records, name="records"),
    path("customers/<int:pk>/", views.customer_retention, name="customer"),
    path("customers/<int:pk>/request/", views.request_destruction, name="request"),
    path("customers/<int:pk>/withdraw/", views.withdraw_request, name="withdraw"),
    path("customers/<int:pk>/approve/", views.approve_request, name="approve"),
    path("customers/<int:pk>/reject/", views.reject_request, name="reject"),
]
