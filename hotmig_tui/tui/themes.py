"""Themes as TOML files: the ones shipped in the package, then the user's (~/.config/hotmig/themes/*.toml).

A theme file holds Textual's theme fields (name, primary, background, ..., dark) and an optional
[variables] table. A bad file is reported (file and key) and skipped; the dashboard still opens.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from hotmig_tui.paths import config_dir

COLOR_KEYS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground", "background",
              "surface", "panel", "boost")
DEFAULT_THEME = "hotmig-dark"


@dataclass(frozen=True)
class ThemeProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def user_theme_dir() -> Path:
    return config_dir() / "themes"


def theme_files() -> list[Path]:
    shipped = resources.files("hotmig_tui").joinpath("themes")
    files = sorted(Path(str(p)) for p in shipped.iterdir() if p.name.endswith(".toml"))
    user = user_theme_dir()
    if user.is_dir():
        files += sorted(user.glob("*.toml"))
    return files


def load_themes(paths: list[Path] | None = None) -> tuple[list[Theme], list[ThemeProblem]]:
    themes: list[Theme] = []
    problems: list[ThemeProblem] = []
    for path in theme_files() if paths is None else paths:
        try:
            themes.append(parse_theme(path.read_text(encoding="utf-8"), str(path)))
        except ThemeError as exc:
            problems.append(ThemeProblem(str(path), str(exc)))
        except OSError as exc:
            problems.append(ThemeProblem(str(path), f"cannot read: {exc.strerror or exc}"))
    return themes, problems


class ThemeError(ValueError):
    pass


def parse_theme(text: str, source: str) -> Theme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"TOML syntax error: {exc}") from None
    allowed = {f.name for f in fields(Theme)}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ThemeError(f"unknown key {unknown[0]!r} (theme keys: name, dark, {', '.join(COLOR_KEYS)}, variables)")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise ThemeError("name: missing")
    if not isinstance(data.get("primary"), str):
        raise ThemeError("primary: missing (a colour such as '#0178D4')")
    for key in COLOR_KEYS:
        if key in data:
            _check_colour(key, data[key])
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeError("variables: expected a table of strings")
    if "dark" in data and not isinstance(data["dark"], bool):
        raise ThemeError("dark: expected true or false")
    return Theme(**data)


def _check_colour(key: str, value: object) -> None:
    if not isinstance(value, str):
        raise ThemeError(f"{key}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{key}: {value!r} is not a colour") from None
