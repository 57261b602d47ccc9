"""Vectorised text columns: prompt hashes and provider request ids, built as byte matrices."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

U64 = NDArray[np.uint64]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BASE62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)

# provider -> (prefix, random characters after it), in the shape each API returns
REQUEST_ID_SHAPES: dict[str, tuple[str, int]] = {
    "anthropic": ("msg_01", 22),
    "openai": ("chatcmpl-", 29),
    "gemini": ("", 27),
    "xai": ("", 36),
}


def splitmix64(values: U64) -> U64:
    """A bijective 64-bit mixer: distinct inputs give distinct, well-spread outputs."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def mix_ids(*parts: int) -> np.uint64:
    """One stable 64-bit id from small integers (seed, kind, index...)."""
    acc = np.array([0], dtype=np.uint64)
    for part in parts:
        acc = splitmix64(acc ^ np.uint64(part & 0xFFFFFFFFFFFFFFFF))
    return np.uint64(acc[0])


def hex_digests(prompt_ids: U64) -> NDArray[np.str_]:
    """A 64-character hex digest per prompt id; equal ids give equal digests."""
    words = np.stack([splitmix64(prompt_ids ^ np.uint64(salt)) for salt in (1, 2, 3, 4)], axis=1)
    raw = words.astype(">u8").view(np.uint8).reshape(len(prompt_ids), 32)
    nibbles = np.empty((len(prompt_ids), 64), dtype=np.uint8)
    nibbles[:, 0::2] = raw >> 4
    nibbles[:, 1::2] = raw & 0x0F
    return _as_text(_HEX[nibbles])


def request_ids(provider: str, rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    prefix, length = REQUEST_ID_SHAPES[provider]
    if provider == "xai":
        return _uuids(rng, count)
    chars = np.empty((count, len(prefix) + length), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    chars[:, len(prefix) :] = _BASE62[rng.integers(0, 62, size=(count, length))]
    return _as_text(chars)


def _uuids(rng: np.random.Generator, count: int) -> NDArray[np.str_]:
    """Version-4 UUID text, as xAI returns for a completion id."""
    nibbles = rng.integers(0, 16, size=(count, 32), dtype=np.uint8)
    nibbles[:, 12] = 4
    nibbles[:, 16] = 8 + (nibbles[:, 16] & 0x3)
    chars = np.full((count, 36), ord("-"), dtype=np.uint8)
    hex_positions = [i for i in range(36) if i not in (8, 13, 18, 23)]
    chars[:, hex_positions] = _HEX[nibbles]
    return _as_text(chars)


def _as_text(chars: NDArray[np.uint8]) -> NDArray[np.str_]:
    width = chars.shape[1]
    return np.ascontiguousarray(chars).view(f"S{width}").ravel().astype(f"U{width}")
