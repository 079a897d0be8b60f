"""Sign-in, sign-out and the start page."""

import pytest
from django.urls import reverse

from conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.parametrize("name", ["home"])
def test_pages_need_a_signed_in_user(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse(name)}"


def test_the_login_page_is_in_chinese(client, db):
    html = client.get(reverse("login")).content.decode()
    assert "登录" in html and "用户名" in html and "密码" in html
    assert "保险客户档案与保单业务系统" in html
    assert "新建个人客户" not in html  # no navigation before sign-in


def test_a_user_signs_in_and_lands_on_the_workbench(client, make_user):
    clerk = make_user("clerk", username="zhang")
    clerk.last_name, clerk.first_name = "林", "晓燕"
    clerk.save()
    response = client.post(reverse("login"), {"username": "zhang", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert response.context["user"] == clerk
    html = response.content.decode()
    assert "<h1>工作台</h1>" in html
    assert "林晓燕" in html and "晓燕 林" not in html and "录入员" in html and "退出" in html


def test_a_wrong_password_is_refused_in_chinese(client, make_user):
    make_user("clerk", username="zhang")
    response = client.post(reverse("login"), {"username": "zhang", "password": "wrong-password"})
    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert "请输入一个正确的" in response.content.decode()


def test_login_goes_back_to_the_page_asked_for(client, make_user):
    make_user("clerk", username="zhang")
    wanted = reverse("customers:create_individual")
    response = client.post(
        f"{reverse('login')}?next={wanted}", {"username": "zhang", "password": PASSWORD, "next": wanted}
    )
    assert response.status_code == 302 and response["Location"] == wanted


def test_a_signed_in_user_opening_login_goes_home(client, make_user):
    client.force_login(make_user("cs"))
    response = client.get(reverse("login"))
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_home_is_the_roles_workbench(client, make_user):
    client.force_login(make_user("manager"))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "工作台" in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(client, make_user):
    client.force_login(make_user("clerk"))
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302
    assert client.get(reverse("customers:list"))["Location"].startswith(reverse("login"))
