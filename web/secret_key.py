"""Give this installation its own SECRET_KEY, once: `python -m web.secret_key instance/config.py` (make run)."""

from __future__ import annotations

import os
import re
import secrets
import sys
from pathlib import Path


def ensure_secret_key(path: Path) -> bool:
    """Append a random SECRET_KEY to the instance config file unless it has one; True when one was written.

    The file is created, or narrowed, to mode 600: the key signs every session and API token.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as f:
        text = f.read()
        if re.search(r"^SECRET_KEY\s*=", text, re.MULTILINE):
            return False
        prefix = "" if not text or text.endswith("\n") else "\n"
        f.write(f"{prefix}SECRET_KEY = {secrets.token_hex(32)!r}  # written once by `make run`; keep it secret\n")
        return True


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "instance/config.py")
    print(f"{target}: {'new SECRET_KEY written' if ensure_secret_key(target) else 'SECRET_KEY kept'}")
