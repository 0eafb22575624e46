"""Whether the app is served to this machine alone, and so whether it must ask who is there.

Why the listening address decides: on 127.0.0.1 only people already on the machine reach the app
(its owner, like the command line), so asking them to sign in protects nothing. Anything else (an
interface address, 0.0.0.0, or no address at all, which Streamlit reads as every interface) lets
the network in, and then nobody gets in without signing in. `team = true` in the server settings
asks for sign-in on loopback too: behind a reverse proxy the proxy's visitors arrive from 127.0.0.1.
"""

from __future__ import annotations

import ipaddress

from mining.access.config import ServerConfig


def is_loopback(address: str | None) -> bool:
    """Whether a server listening on `address` is reachable from this machine only."""
    if not address:
        return False  # Streamlit listens on every interface when no address is set
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve to anything


def sign_in_required(address: str | None, config: ServerConfig) -> bool:
    return config.team or not is_loopback(address)
