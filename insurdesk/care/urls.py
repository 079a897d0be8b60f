from django.urls import path

from insurdesk.care import views

app_name = "care"

urlpatterns = [
    path("contacts/", views.contact_list_view, name="contacts"),
    path("customer/<int:pk>/contacts/", views.customer_contacts_view, name="customer_contacts"),
]
