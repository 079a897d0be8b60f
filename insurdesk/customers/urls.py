from django.urls import path

from insurdesk.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list_view, name="list"),
    path("new/individual/", views.customer_create_individual, name="create_individual"),
    path("new/corporate/", views.customer_create_corporate, name="create_corporate"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/relations/", views.relation_add_view, name="relation_add"),
    path("<int:pk>/relations/<int:other_pk>/remove/", views.relation_remove_view, name="relation_remove"),
    path("<int:pk>/reveal/", views.customer_reveal_view, name="reveal"),
]
