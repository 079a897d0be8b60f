"""Secrets from the environment, or generated into the data directory on a developer's machine."""

import base64
import os
import secrets
from pathlib import Path


class MissingSecret(RuntimeError):
    """A secret is absent in production mode, where nothing may be generated."""


def _generate(name: str) -> str:
    if name == "INSURDESK_FIELD_KEYS":
        return "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    if name in ("INSURDESK_INDEX_KEY", "INSURDESK_BACKUP_KEY"):
        return base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(50)


def load_secret(name: str, *, data_dir: Path, production: bool) -> str:
    """Return the secret from the environment, else from data_dir/secrets, else a new one written there."""
    value = os.environ.get(name)
    if value:
        return value
    path = data_dir / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    if production:
        raise MissingSecret(f"{name} is not set; production mode never generates secrets.")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    value = _generate(name)
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
