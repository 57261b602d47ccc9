"""The envelope a stored secret is sealed in before it is encrypted (issue 16 item 3).

Fernet authenticates its token but takes no associated data, so a ciphertext copied from one row into
another would decrypt as well there. The envelope carries the place the secret was sealed for (workspace,
table, column, row) inside the encrypted text, where no one without the key can change it; whoever opens
it compares that place with the row it was read from. docs/CONTRACT.md ("Sealed secrets") is the format
the dashboard writes:

    b"halton-sealed:1:" + JSON {"column": ..., "row_id": ..., "secret": ..., "table": ..., "workspace_id": ...}

A plaintext without the prefix is a legacy, unbound secret (encrypted before the envelope existed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

PREFIX = b"halton-sealed:1:"


class MalformedEnvelope(ValueError):
    """The prefix is there but what follows is not a version-1 envelope."""


@dataclass(frozen=True)
class Binding:
    """Where a secret is stored: its row of `table` (schema-qualified), in `column`."""

    workspace_id: int
    table: str
    column: str
    row_id: int

    def describe(self) -> str:
        return f"{self.table}.{self.column} of row {self.row_id} (workspace {self.workspace_id})"


def seal(secret: str, binding: Binding) -> bytes:
    """The plaintext to encrypt: the secret with the place it belongs to."""
    body = {"column": binding.column, "row_id": binding.row_id, "secret": secret, "table": binding.table,
            "workspace_id": binding.workspace_id}
    return PREFIX + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def unseal(plaintext: bytes) -> tuple[str, Binding | None]:
    """(secret, the place it was sealed for); None for a legacy plaintext that names no place."""
    if not plaintext.startswith(PREFIX):
        return plaintext.decode(), None
    try:
        body = json.loads(plaintext[len(PREFIX):])
        binding = Binding(int(body["workspace_id"]), str(body["table"]), str(body["column"]), int(body["row_id"]))
        secret = body["secret"]
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedEnvelope(f"not a version-1 sealed secret: {type(error).__name__}") from None
    if not isinstance(secret, str) or not isinstance(body["workspace_id"], int) or not isinstance(
            body["row_id"], int):
        raise MalformedEnvelope("not a version-1 sealed secret: a field has the wrong type")
    return secret, binding
