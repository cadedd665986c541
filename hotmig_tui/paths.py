"""Where hotmig keeps its files (XDG base directories; HOTMIG_DATA_DIR overrides the data dir)."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "hotmig"


def data_dir() -> Path:
    explicit = os.environ.get("HOTMIG_DATA_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "hotmig"
