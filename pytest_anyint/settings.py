"""Where a project keeps its pytest-anyint settings: one resolver for the plugin and every command.

The rootdir and the ini file are found by pytest's own ``determine_setup`` (pytest.ini,
pyproject.toml, tox.ini, setup.cfg, searched upwards from the working directory exactly as
``pytest`` would), so ``pytest-anyint check`` run from ``tests/unit`` reads the same
``anyint_config``, ``anyint_cassette_dir`` and ``anyint_contracts_dir`` as ``pytest`` run there.
Pure library: raises :class:`SettingsError` (one line), never prints.
"""

from __future__ import annotations

import inspect
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_CONFIG = "anyint.yaml"
DEFAULT_CASSETTE_DIR = "cassettes"


class SettingsError(Exception):
    """The project's pytest configuration cannot be read (one line, the file named)."""


class ProjectSettings(NamedTuple):  # cheap to build at import, immutable, compared by value
    """The paths a pytest session of this project would use, all absolute."""

    rootdir: Path
    #: The pytest configuration file the values came from (None: none found, defaults used).
    inifile: Path | None
    config_path: Path
    cassette_dir: Path
    contracts_dirs: tuple[Path, ...]

    def elsewhere(self) -> str:
        """A hint for a setting not found here: with no pytest configuration file the rootdir is
        the working folder, so a subfolder of a project whose ``anyint.yaml`` sits above it sees none."""
        if self.inifile is not None or self.config_path.exists():
            return ""
        for folder in self.rootdir.parents:
            if (folder / "anyint.yaml").is_file():
                return (
                    f" (no pytest configuration file was found, so pytest's rootdir here is {self.rootdir}; "
                    f"run it from {folder}, or add a pytest.ini there so every subfolder finds it)"
                )
        return ""

    def shown(self, path: Path) -> str:
        """``path`` relative to the working directory when it is below it, for messages."""
        try:
            return os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            return str(path)


def resolve(
    rootdir: Path,
    *,
    inifile: Path | None = None,
    config: str | os.PathLike[str] | None = None,
    cassette_dir: str | os.PathLike[str] | None = None,
    contracts_dirs: Sequence[str | os.PathLike[str]] = (),
) -> ProjectSettings:
    """The settings from raw option values: relative paths are relative to the rootdir (contract
    directories are already resolved the way pytest resolves ``paths`` ini options)."""
    rootdir = Path(rootdir)
    return ProjectSettings(
        rootdir=rootdir,
        inifile=inifile,
        config_path=_under(rootdir, config or DEFAULT_CONFIG),
        cassette_dir=_under(rootdir, cassette_dir or DEFAULT_CASSETTE_DIR),
        contracts_dirs=tuple(_under(rootdir, d) for d in contracts_dirs),
    )


def from_pytest(config: Any) -> ProjectSettings:
    """The settings of a running pytest session (``--anyint-config`` wins over the ini option)."""
    return resolve(
        config.rootpath,
        inifile=config.inipath,
        config=config.getoption("--anyint-config") or config.getini("anyint_config"),
        cassette_dir=config.getini("anyint_cassette_dir"),
        contracts_dirs=config.getini("anyint_contracts_dir"),
    )


def find(start: Path | None = None, *, config_override: str | os.PathLike[str] | None = None) -> ProjectSettings:
    """The settings ``pytest`` would use when started in ``start`` (default: the working directory).

    ``config_override`` (a command's ``--config``) is relative to the working directory, as any
    path typed on a command line.
    """
    start = Path(start or Path.cwd()).resolve()
    rootdir, inifile, values = locate(start)
    contracts_base = inifile.parent if inifile is not None else start
    settings = resolve(
        rootdir,
        inifile=inifile,
        config=_string(values.get("anyint_config")),
        cassette_dir=_string(values.get("anyint_cassette_dir")),
        contracts_dirs=[contracts_base / p for p in _paths(values.get("anyint_contracts_dir"))],
    )
    if config_override:
        override = Path(config_override)
        settings = ProjectSettings(
            settings.rootdir, settings.inifile, override if override.is_absolute() else Path.cwd() / override,
            settings.cassette_dir, settings.contracts_dirs,
        )
    return settings


def locate(start: Path) -> tuple[Path, Path | None, dict[str, Any]]:
    """(rootdir, ini file, raw ini values) as pytest's ``determine_setup`` finds them from ``start``."""
    from _pytest.config import UsageError
    from _pytest.config.findpaths import determine_setup

    wanted: dict[str, Any] = {"inifile": None, "override_ini": None, "args": [], "rootdir_cmd_arg": None, "invocation_dir": start}
    accepted = inspect.signature(determine_setup).parameters  # override_ini is newer than pytest 8.0
    try:
        found = determine_setup(**{k: v for k, v in wanted.items() if k in accepted})
    except UsageError as exc:
        raise SettingsError(f"pytest's configuration cannot be read: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"pytest's configuration cannot be read: {_cause(exc)}") from None
    rootdir, inifile, values = found[0], found[1], found[2]
    # pytest 9 wraps each value in a ConfigValue (value + origin); pytest 8 stores it bare.
    return Path(rootdir), (Path(inifile) if inifile else None), {k: getattr(v, "value", v) for k, v in values.items()}


def _cause(exc: BaseException) -> str:
    """An error's cause in words: ``not UTF-8 text``, ``permission denied``, not a class name."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    strerror = getattr(exc, "strerror", None)
    text = strerror[:1].lower() + strerror[1:] if strerror else str(exc) or exc.__class__.__name__
    filename = getattr(exc, "filename", None)
    return f"{filename}: {text}" if filename else text


def describe_error(exc: BaseException) -> str:
    """:func:`_cause` without the file name (for messages that name the file themselves)."""
    if isinstance(exc, OSError) and exc.filename:
        exc = OSError(exc.errno, exc.strerror)
    return _cause(exc)


def _under(rootdir: Path, path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path if path.is_absolute() else rootdir / path


def _string(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).strip() or None


def _paths(value: Any) -> list[str]:
    """A ``paths`` ini value: a whitespace-separated string (ini files) or a list (TOML)."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


__all__: Sequence[str] = ("ProjectSettings", "SettingsError", "describe_error", "find", "from_pytest", "locate", "resolve")
