from django.urls import path

from insurdesk.products import views

app_name = "products"

urlpatterns = [
    path("", views.product_list_view, name="list"),
    path("new/", views.product_create_view, name="create"),
    path("<str:code>/", views.product_detail_view, name="detail"),
    path("<str:code>/edit/", views.product_edit_view, name="edit"),
]
