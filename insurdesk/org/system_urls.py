from django.urls import path

from insurdesk.org import system_views as views

app_name = "system"

urlpatterns = [
    path("users/", views.users, name="users"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/action/", views.user_action, name="user_action"),
    path("units/", views.units, name="units"),
    path("units/<int:pk>/", views.unit_detail, name="unit_detail"),
]
