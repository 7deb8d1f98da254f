"""Blocks' secret fields encrypted at rest, with one key per server.

The key is `FLOWPOOL_SECRET_KEY` when set (what several API replicas on one database must
share), else the file `secret.key` under `FLOWPOOL_HOME`, made on first use, readable by its
owner only. Losing the key loses the secrets: the rest of a block still reads, and its secret
fields fail naming the key.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .errors import FieldError, FlowpoolError, InvalidInput
from .private_files import FILE_MODE, private_directory

KEY_FILE_NAME = "secret.key"
NEW_KEY_COMMAND = ('python -c "from cryptography.fernet import Fernet; '
                   'print(Fernet.generate_key().decode())"')


class SecretBox:
    """Seals a dict of secret values into one token, and opens it again."""

    def __init__(self, key: bytes):
        from cryptography.fernet import Fernet

        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise InvalidInput("the secret key is not a valid key", [FieldError(
                "FLOWPOOL_SECRET_KEY", f"give 32 url-safe base64-encoded bytes; make one with "
                                       f"{NEW_KEY_COMMAND}")]) from None

    def seal(self, values: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise FlowpoolError("a block's secret fields cannot be decrypted with this server's "
                                "key: FLOWPOOL_SECRET_KEY (or FLOWPOOL_HOME/secret.key) is not "
                                "the key they were saved with") from None


def secret_box(home: Path, key_text: str | None) -> SecretBox:
    """The box for `key_text` when given, else for the key file under `home` (made if
    missing)."""
    if key_text:
        return SecretBox(key_text.strip().encode())
    return SecretBox(_key_file(private_directory(home) / KEY_FILE_NAME))


def _key_file(path: Path) -> bytes:
    """The key in `path`; a new one written there, 0600 from the first byte, if there is none.
    O_EXCL: of two processes making it at once, one writes and both read the same key."""
    from cryptography.fernet import Fernet

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as file:
        key = Fernet.generate_key()
        file.write(key)
    return key
