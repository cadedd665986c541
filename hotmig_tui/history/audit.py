"""The audit log: every migration started, tuned or aborted, with who, when and the parameters.

One JSON object per line, appended to <data dir>/audit.log. Values are plain facts about migrations;
anything that looks like a secret (a key named password, secret, token, key or passphrase, or a URI's
password) is masked before it is written.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from hotmig_tui.paths import data_dir

SECRET_KEYS = re.compile(r"pass(word|phrase)?|secret|token|private|(^|_)key$", re.IGNORECASE)
URI_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^/:@\s]+):[^@/\s]+@", re.IGNORECASE)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "***" if SECRET_KEYS.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return URI_PASSWORD.sub(r"\g<scheme>:***@", value)
    return value


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


class AuditLog:
    def __init__(self, path: Path | None = None, user: str | None = None) -> None:
        self.path = path or data_dir() / "audit.log"
        self.user = user or current_user()

    def record(self, action: str, **details: Any) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "user": self.user, "action": action,
                 **redact(details)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry, default=str) + "\n")
