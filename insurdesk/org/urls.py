from django.contrib.auth import views as auth_views
from django.urls import path

from insurdesk.org import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("account/", views.account, name="account"),
    path("account/password/", views.account_password, name="account_password"),
    path("account/otp/setup/", views.otp_setup, name="otp_setup"),
    path("account/otp/verify/", views.otp_verify, name="otp_verify"),
    path("account/tokens/", views.api_token_create, name="api_token_create"),
    path("account/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
