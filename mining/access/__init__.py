"""Access: who may use the app, with which role, and what a text box in it may reach on the server.

The pages and the `users` command use what is named here; nothing in it imports Streamlit, so every
rule is testable without a browser.
"""

from mining.access.config import (CONFIG_ENV, DATA_ENV, LocalUser, ServerConfig, ServerConfigError,
                                  default_config_path, load_server_config)
from mining.access.endpoints import EndpointRefused, check_base_url, check_key_variable
from mining.access.paths import PathRefused, check_path, data_folders, inside
from mining.access.roles import LEAD_ACTIONS, ROLES, Role, can
from mining.access.serving import is_loopback, sign_in_required
from mining.access.sign_in import SignInRefused, Throttle, authenticate

__all__ = [
    "CONFIG_ENV", "DATA_ENV", "LEAD_ACTIONS", "ROLES", "EndpointRefused", "LocalUser", "PathRefused", "Role",
    "ServerConfig", "ServerConfigError", "SignInRefused", "Throttle", "authenticate", "can", "check_base_url",
    "check_key_variable", "check_path", "data_folders", "default_config_path", "inside", "is_loopback",
    "load_server_config", "sign_in_required",
]
