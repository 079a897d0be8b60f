from django.urls import path

from insurdesk.claims import views

app_name = "claims"

urlpatterns = [
    path("", views.claim_list_view, name="list"),
    path("customer/<int:pk>/", views.customer_claims_view, name="customer_claims"),
]
