"""The fields that choose an OpenAI-compatible endpoint, shared by the Evaluate page (a candidate
model's answers) and the Failure modes page (names from a local model).

Why one place: on a team server only the endpoints and key variables the operator allowed may be
used (mining.access.endpoints), and a key typed for the session stays in memory; both pages must
hold to that the same way.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

import access_ui
import ui
from mining.access import EndpointRefused, check_base_url
from mining.endpoint import EndpointConfig

KEY_NONE, KEY_TYPED = "", "\0typed"  # the API key choices besides the allowed variables


def endpoint_fields(prefix: str) -> Callable[[], EndpointConfig | None]:
    """Draw the endpoint's fields (widget keys start with `prefix`); the returned function, called
    when the user presses the page's button, gives the config, or None after showing what is wrong."""
    settings = access_ui.server_config()
    team = access_ui.team_mode(settings)
    columns = st.columns([3, 2, 2])
    if team:  # a team server calls only the endpoints its operator listed
        base_url = columns[0].selectbox("Base URL", settings.base_urls, key=f"{prefix}_base_url",
                                        placeholder="none allowed", help="The endpoints the operator allowed "
                                        "under [endpoints] base_urls in the server settings.") or ""
    else:
        base_url = columns[0].text_input("Base URL", placeholder="http://127.0.0.1:8000/v1", key=f"{prefix}_base_url")
    model = columns[1].text_input("Model", key=f"{prefix}_model")
    key_choices = [KEY_NONE, *settings.key_variables, KEY_TYPED]
    key_source = columns[2].selectbox(
        "API key", key_choices, key=f"{prefix}_key_source",
        format_func=lambda c: {KEY_NONE: "No key", KEY_TYPED: "Type a key for this session"}.get(c, f"${c}"),
        help="An environment variable the operator allowed (under [endpoints] key_variables in the server "
             "settings), or a key typed here: held in this session's memory only, never stored.")
    typed_key = (st.text_input("Key for this session", type="password", key=f"{prefix}_typed_key")
                 if key_source == KEY_TYPED else "")
    columns = st.columns(3)
    concurrency = columns[0].number_input("Requests at once", 1, 64, 4, key=f"{prefix}_concurrency")
    timeout = columns[1].number_input("Timeout (s)", 1.0, 600.0, 60.0, key=f"{prefix}_timeout")
    retries = columns[2].number_input("Retries", 0, 10, 4, key=f"{prefix}_retries")

    def config() -> EndpointConfig | None:
        if not (base_url.strip() and model.strip()):
            st.error("Give the base URL and the model.")
            return None
        try:
            check_base_url(base_url, settings, team)
        except EndpointRefused as exc:
            st.error(ui.plain(exc))
            return None
        return EndpointConfig(base_url=base_url.strip(), model=model.strip(),
                              api_key_env=key_source if key_source in settings.key_variables else None,
                              api_key=typed_key.strip() or None if key_source == KEY_TYPED else None,
                              concurrency=int(concurrency), timeout_s=float(timeout), retries=int(retries))

    return config
