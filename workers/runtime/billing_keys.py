"""Admin keys of meter.provider_connections: Fernet-encrypted with HALTON_ENCRYPTION_KEY, decrypted only
here, in the worker that pulls, into an AdminKey that never prints itself. Tasks carry the workspace id,
never a key; error messages name the key by its hint."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from adapters.billing import AdminKey, shown_hint
from core.errors import ConfigError, UserError
from workers.settings import get_settings


def _fernet() -> Fernet:
    key = get_settings().encryption_key
    if key is None:
        raise ConfigError("HALTON_ENCRYPTION_KEY is missing: set it to pull billing APIs")
    return Fernet(key.get_secret_value().encode())


def decrypt_admin_key(ciphertext: bytes, hint: str) -> AdminKey:
    try:
        return AdminKey(_fernet().decrypt(bytes(ciphertext)).decode())
    except InvalidToken:
        raise UserError(f"the admin key {shown_hint(hint)} cannot be decrypted with this fleet's "
                        "HALTON_ENCRYPTION_KEY; reconnect billing or check the key") from None


def encrypt_admin_key(plaintext: str) -> bytes:
    """What the dashboard does when someone connects billing (used by tests and the demo)."""
    return _fernet().encrypt(plaintext.encode())
