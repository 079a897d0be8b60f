import os
import stat
import subprocess
import sys

import pytest

from insurdesk.common.localsecrets import MissingSecret, load_secret


def test_absent_secret_is_generated_once_into_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("INSURDESK_FIELD_KEYS", raising=False)
    first = load_secret("INSURDESK_FIELD_KEYS", data_dir=tmp_path, production=False)
    again = load_secret("INSURDESK_FIELD_KEYS", data_dir=tmp_path, production=False)
    assert first == again and first.startswith("k1:")
    path = tmp_path / "secrets" / "INSURDESK_FIELD_KEYS"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("INSURDESK_SECRET_KEY", "from-env")
    assert load_secret("INSURDESK_SECRET_KEY", data_dir=tmp_path, production=True) == "from-env"


def test_production_mode_refuses_to_generate(tmp_path, monkeypatch):
    monkeypatch.delenv("INSURDESK_SECRET_KEY", raising=False)
    with pytest.raises(MissingSecret):
        load_secret("INSURDESK_SECRET_KEY", data_dir=tmp_path, production=True)
    assert not (tmp_path / "secrets").exists()


def test_commands_refuse_to_start_in_production_without_secrets(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSURDESK_")}
    env.update(INSURDESK_PRODUCTION="1", INSURDESK_DATA_DIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", "check"], capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert "production mode never generates secrets" in proc.stderr


def test_production_refuses_to_start_without_the_audit_key(tmp_path):
    """The chain head's MAC key (issue 15.6) is required like the others; every other secret is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSURDESK_")}
    env.update(
        INSURDESK_PRODUCTION="1",
        INSURDESK_DATA_DIR=str(tmp_path),
        INSURDESK_SECRET_KEY="s" * 50,
        INSURDESK_FIELD_KEYS="k1:" + "A" * 43 + "=",
        INSURDESK_INDEX_KEY="B" * 43 + "=",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "insurdesk.cli", "check"], capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert "INSURDESK_AUDIT_KEY is not set" in proc.stderr
