"""Test helpers for the second factor: a confirmed TOTP device and the codes its app would show."""

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from insurdesk.org.policy import needs_second_factor


def confirmed_device(user) -> TOTPDevice:
    """Return the user's confirmed TOTP device, enrolling one if it has none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """Return the code the authenticator app shows now (or `steps_ahead` 30-second steps later).

    A code is accepted once; the next login in the same step needs steps_ahead=1 (within tolerance).
    """
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def pass_second_factor(client, user) -> None:
    """Let a test's force_login()/login() stand for a full sign-in of a role that needs TOTP.

    Stores in the client's session the device that verified the user, as django-otp's login() does.
    """
    if needs_second_factor(user):
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = confirmed_device(user).persistent_id
        session.save()
