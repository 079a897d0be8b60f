from django.urls import path

from insurdesk.webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.subscriptions, name="list"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/toggle/", views.toggle, name="toggle"),
    path("<int:pk>/deliveries/<int:delivery_pk>/replay/", views.replay, name="replay"),
]
