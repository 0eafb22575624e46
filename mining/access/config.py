"""The operator's server settings: whether sign-in is required, who may sign in with which role,
which folders the app may read and write, and which endpoints and key variables it may use.

Why files the operator edits, and not settings in the workspace: the workspace can be changed from
a browser, and a setting that widens what the server may do must not be. Two files:

- `server.toml` (`$FAULTLINE_CONFIG`, default `~/.faultline/server.toml`), written by hand:

      team = true                 # ask for sign-in even on 127.0.0.1 (behind a reverse proxy)
      data_folders = ["/srv/logs"]
      users_file = "/srv/faultline/users.toml"   # default: users.toml beside this file

      [endpoints]
      key_variables = ["OPENAI_API_KEY"]          # environment variables the app may send as a key
      base_urls = ["http://127.0.0.1:8000/v1"]    # in team mode, the only endpoints it may call

      [sign_in]                   # Streamlit's st.login (OIDC), configured in .streamlit/secrets.toml
      provider = "google"         # the [auth.google] section; leave out to use [auth] alone
      leads = ["ann@example.com"]
      reviewers = ["*@example.com"]

- `users.toml`, kept by `python -m mining users add/remove` (one table per user with `role` and an
  Argon2 `password_hash`; the file is made readable by its owner only).

A missing file means the defaults (no team mode, no users, no extra folders, no key variables); a
file that cannot be read is an error naming the file and the problem, never silently ignored: a typo
must not open the server.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mining.access.passwords import check_hash
from mining.access.roles import Role, parse_role

CONFIG_ENV = "FAULTLINE_CONFIG"
DATA_ENV = "FAULTLINE_DATA"


class ServerConfigError(Exception):
    """A settings file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class LocalUser:
    name: str
    role: Role
    password_hash: str


@dataclass(frozen=True)
class ServerConfig:
    path: Path
    team: bool = False
    data_folders: tuple[Path, ...] = ()
    users_file: Path | None = None
    users: dict[str, LocalUser] = field(default_factory=dict)
    key_variables: tuple[str, ...] = ()
    base_urls: tuple[str, ...] = ()
    sign_in_provider: str | None = None
    # (pattern, role) pairs for users signed in through st.login, matched on the e-mail; first match wins.
    sign_in_roles: tuple[tuple[str, Role], ...] = ()

    def role_of_email(self, email: str | None) -> Role | None:
        """The role an identity provider's user gets, or None when the settings give them none."""
        if not email:
            return None
        for pattern, role in self.sign_in_roles:
            if fnmatch.fnmatchcase(email.lower(), pattern.lower()):
                return role
        return None


def default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    return Path(env).expanduser() if env else Path.home() / ".faultline" / "server.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ServerConfigError(f"{path}: {exc}") from exc


def _strings(path: Path, where: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ServerConfigError(f"{path}: {where} must be a list of non-empty strings")
    return tuple(item.strip() for item in value)


def _folder(base: Path, value: str) -> Path:
    folder = Path(value).expanduser()
    return folder if folder.is_absolute() else base / folder


def load_users(path: Path) -> dict[str, LocalUser]:
    """The local user list; a missing file is an empty list."""
    users = {}
    for name, entry in _read_toml(path).items():
        if not isinstance(entry, dict):
            raise ServerConfigError(f"{path}: [{name}] must be a table with role and password_hash")
        try:
            role = parse_role(entry.get("role"))
            password_hash = str(entry.get("password_hash") or "")
            check_hash(password_hash)
        except ValueError as exc:
            raise ServerConfigError(f"{path}: user {name!r}: {exc}") from exc
        users[name] = LocalUser(name, role, password_hash)
    return users


def _stamp(path: Path) -> tuple[int, int] | None:
    """What changes when a file is edited (its time and size), None when it does not exist."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


# The last settings read from each file, with the stamps of it and its user list: every page asks
# for the settings several times a run, and re-reading them is needed only after an edit.
_read: dict[Path, tuple[tuple[int, int] | None, tuple[int, int] | None, ServerConfig]] = {}


def load_server_config(path: Path | None = None) -> ServerConfig:
    """The settings in `path` (default: $FAULTLINE_CONFIG or ~/.faultline/server.toml), read again
    only when the file or its user list has changed since the last call."""
    path = (path or default_config_path()).expanduser()
    cached = _read.get(path)
    if cached and cached[0] == _stamp(path) and cached[1] == _stamp(cached[2].users_file or path):
        return cached[2]
    stamp = _stamp(path)
    config = _parse_server_config(path)
    _read[path] = (stamp, _stamp(config.users_file or path), config)
    return config


def _parse_server_config(path: Path) -> ServerConfig:
    data = _read_toml(path)
    known = {"team", "data_folders", "users_file", "endpoints", "sign_in"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ServerConfigError(f"{path}: unknown setting {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if not isinstance(data.get("team", False), bool):
        raise ServerConfigError(f"{path}: team must be true or false")
    endpoints, sign_in = data.get("endpoints", {}), data.get("sign_in", {})
    if not isinstance(endpoints, dict) or not isinstance(sign_in, dict):
        raise ServerConfigError(f"{path}: [endpoints] and [sign_in] must be tables")
    base = path.parent
    users_file = _folder(base, data["users_file"]) if data.get("users_file") else base / "users.toml"
    roles: list[tuple[str, Role]] = []
    for role in ("leads", "reviewers"):
        roles += [(pattern, "lead" if role == "leads" else "reviewer")
                  for pattern in _strings(path, f"sign_in.{role}", sign_in.get(role))]
    provider = sign_in.get("provider")
    if provider is not None and not isinstance(provider, str):
        raise ServerConfigError(f"{path}: sign_in.provider must be a string")
    return ServerConfig(
        path=path,
        team=data.get("team", False),
        data_folders=tuple(_folder(base, folder) for folder in _strings(path, "data_folders", data.get("data_folders"))),
        users_file=users_file,
        users=load_users(users_file),
        key_variables=_strings(path, "endpoints.key_variables", endpoints.get("key_variables")),
        base_urls=_strings(path, "endpoints.base_urls", endpoints.get("base_urls")),
        sign_in_provider=provider or None,
        sign_in_roles=tuple(roles),
    )


def data_folders_from_env() -> tuple[Path, ...]:
    """The folders named in $FAULTLINE_DATA (separated like PATH)."""
    value = os.environ.get(DATA_ENV, "")
    return tuple(Path(part).expanduser() for part in value.split(os.pathsep) if part.strip())


def write_users(path: Path, users: dict[str, LocalUser]) -> None:
    """Write the user list as TOML, readable by its owner only, replacing the file in one step."""
    lines = ["# Faultline's local users: kept by `faultline users add/remove`. Hashes are Argon2id.", ""]
    for user in sorted(users.values(), key=lambda u: u.name):
        # A JSON string is a valid TOML basic string for every name (quotes, backslashes, unicode).
        lines += [f"[{json.dumps(user.name)}]", f"role = {json.dumps(user.role)}",
                  f"password_hash = {json.dumps(user.password_hash)}", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    os.replace(temporary, path)
