"""Which endpoints the app may call and which environment variables it may send as their key.

Why: the Evaluate page sends an API key as a Bearer token to a base URL. If a text box could name
any environment variable and any URL, anyone who reaches the page could make the server send its
secrets (cloud keys, tokens) to a host of their choice. So the key comes either from a variable the
operator listed (`[endpoints] key_variables`) or from what the user types into their own session
(held in memory, never stored), and in team mode the base URL must be one the operator listed.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from mining.access.config import ServerConfig


class EndpointRefused(Exception):
    """An endpoint or key variable the operator did not allow; the message says how to allow it."""


def _normal(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def check_key_variable(name: str, config: ServerConfig) -> None:
    if name not in config.key_variables:
        allowed = ", ".join(config.key_variables) or "none"
        raise EndpointRefused(f"the app may not read the environment variable {name!r} (allowed: {allowed}); "
                              f"an operator lists variables under [endpoints] key_variables in {config.path}, "
                              "or type the key for this session")


def check_base_url(url: str, config: ServerConfig, team: bool) -> None:
    """In team mode, only the operator's listed base URLs (compared without a trailing slash); any URL
    when the app is served to this machine alone. Either way only http(s)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme not in ("http", "https"):
        raise EndpointRefused(f"{url}: an endpoint's base URL starts with http:// or https://")
    if team and _normal(url) not in {_normal(allowed) for allowed in config.base_urls}:
        allowed = ", ".join(config.base_urls) or "none"
        raise EndpointRefused(f"{url}: not an endpoint this team server may call (allowed: {allowed}); an operator "
                              f"lists them under [endpoints] base_urls in {config.path}")
