"""The Fernet keys' text (HALTON_ENCRYPTION_KEYS, HALTON_ENCRYPTION_KEY): split and checked, never echoed."""

from __future__ import annotations

import base64
import binascii


def split_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def check_fernet_key(key: str, problem: str) -> None:
    """Raise ValueError(problem) unless `key` is urlsafe base64 of 32 bytes (the message names no key)."""
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode())
    except (binascii.Error, ValueError):
        raise ValueError(problem) from None
    if len(raw) != 32:
        raise ValueError(problem)
