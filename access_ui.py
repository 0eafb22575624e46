"""The app's door: who is using it, with which role, and the checks a page makes before an action.

Served to this machine alone (127.0.0.1, the default), the person at the browser is the machine's
owner and gets the lead's role without signing in, as on the command line. Served to the network,
or with `team = true` in the server settings, nobody gets past the sign-in page: a local user with a
password (`python -m mining users add`) or an identity provider through Streamlit's `st.login`. A
server that would let the network in with no way to sign in configured shows only a refusal.

The rules themselves live in mining.access (testable without Streamlit); this module only asks
them and draws the answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import ui
from mining.access import sessions
from mining.access import (LEAD_ACTIONS, PathRefused, Role, ServerConfig, ServerConfigError, SignInRefused, Throttle,
                           authenticate, can, check_path, load_server_config, sign_in_required)

VISITOR_KEY = "signed_in"
TOKEN_KEY = "session_token"
SIGNED_OUT_KEY = "signed_out"  # this tab signed out: the cookie it connected with no longer counts
COOKIE_KEY = "session_cookie_to_write"  # a token to hand the browser on the next run ("" clears it)
# One throttle for the whole server process: every session's failed sign-ins count together.
_THROTTLE = Throttle()


@dataclass(frozen=True)
class Visitor:
    name: str
    role: Role
    via: str  # "this machine", "password" or "provider"


def server_config() -> ServerConfig:
    """The operator's settings, read on every run so that an edit (a user removed) applies at once;
    unreadable settings stop the page with the reason rather than opening the server."""
    try:
        return load_server_config()
    except ServerConfigError as exc:
        st.error(ui.plain(f"The server settings cannot be read, so the app stays closed: {exc}"))
        st.stop()


def listening_address() -> str | None:
    return st.get_option("server.address")


def team_mode(config: ServerConfig | None = None) -> bool:
    """Whether visitors must sign in: the app is served beyond this machine, or the settings ask for it."""
    return sign_in_required(listening_address(), config or server_config())


def provider_configured() -> bool:
    """Whether .streamlit/secrets.toml configures st.login (an [auth] section)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises rather than answering False
        return False


def provider_user() -> dict:
    """The identity provider's user (st.user) as a dict; `is_logged_in` False when nobody is."""
    return st.user.to_dict()


def visitor() -> Visitor | None:
    """Who is using this session, or None when they still have to sign in."""
    config = server_config()
    if not team_mode(config):
        return Visitor(ui.reviewer_name(), "lead", "this machine")
    signed = st.session_state.get(VISITOR_KEY)
    if isinstance(signed, Visitor):
        if signed.via == "password":
            user = config.users.get(signed.name)  # removed or demoted since: it applies now
            return Visitor(user.name, user.role, "password") if user else None
        return signed
    if not st.session_state.get(SIGNED_OUT_KEY):  # a reload or a deep link: the browser's token
        token = st.context.cookies.get(sessions.COOKIE)
        user = sessions.verify(token, config, sessions.session_secret(config))
        if user is not None:
            st.session_state[VISITOR_KEY] = Visitor(user.name, user.role, "password")
            st.session_state[TOKEN_KEY] = token
            return st.session_state[VISITOR_KEY]
    if provider_configured():
        user = provider_user()
        role = config.role_of_email(user.get("email")) if user.get("is_logged_in") else None
        if role:
            return Visitor(str(user.get("email")), role, "provider")
    return None


def allowed(action: str | None) -> bool:
    """Whether this session's visitor may take `action` (None: anything a reviewer may do)."""
    who = visitor()
    return who is not None and (action is None or can(who.role, action))


def lead_only(action: str) -> bool:
    """True when the visitor may take `action`; otherwise says who may, and returns False."""
    if allowed(action):
        return True
    st.info(f"Only a lead may {LEAD_ACTIONS[action]}.")
    return False


def write_cookie() -> None:
    """Hand the browser the token of a sign-in (or clear it after a sign-out), once.

    The script is the app's own, with a token of base64url characters and dots only; it runs in the
    page so the cookie belongs to the app's origin, and comes back with every new connection."""
    if COOKIE_KEY not in st.session_state:
        return
    token = st.session_state.pop(COOKIE_KEY)
    age = sessions.LIFETIME_S if token else 0
    st.html(f"<script>document.cookie = {json.dumps(f'{sessions.COOKIE}={token}; path=/; max-age={age}; samesite=strict')}"
            " + (location.protocol === 'https:' ? '; secure' : '');</script>", unsafe_allow_javascript=True)


def sign_in_page() -> None:
    """The only page a visitor who has not signed in can see."""
    write_cookie()
    config = server_config()
    st.title("Sign in to Faultline")
    provider = provider_configured()
    if not config.users and not provider:
        st.error(ui.plain(
            f"This Faultline server is reachable beyond this machine (listening on {listening_address() or 'every address'}) "
            "and no sign-in is configured, so nobody may get in. The operator can add users with "
            "`python -m mining users add NAME --role lead`, configure st.login in .streamlit/secrets.toml, "
            "or serve on 127.0.0.1 only."))
        return
    if provider:
        user = provider_user()
        if user.get("is_logged_in"):
            st.error(ui.plain(f"{user.get('email') or 'This account'} is signed in but has no role on this server; "
                              f"a lead can add it under [sign_in] in {config.path}."))
            if st.button("Sign out", key="sign_out_provider"):
                st.logout()
            return
        if st.button("Sign in with your organisation's account", type="primary", key="sign_in_provider"):
            st.login(config.sign_in_provider)
    if config.users:
        with st.form("sign_in"):
            name = st.text_input("Name", key="sign_in_name")
            password = st.text_input("Password", type="password", key="sign_in_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            try:
                user = authenticate(config, name, password, _THROTTLE)
            except SignInRefused as exc:
                st.error(ui.plain(f"Not signed in: {exc}."))
                return
            st.session_state[VISITOR_KEY] = Visitor(user.name, user.role, "password")
            token = sessions.issue(user, sessions.session_secret(config))
            st.session_state[TOKEN_KEY] = st.session_state[COOKIE_KEY] = token
            st.session_state.pop(SIGNED_OUT_KEY, None)
            st.rerun()


def sign_out() -> None:
    who = st.session_state.pop(VISITOR_KEY, None)
    st.session_state.pop(ui.REVIEWER_KEY, None)
    sessions.revoke(st.session_state.pop(TOKEN_KEY, None))
    st.session_state[SIGNED_OUT_KEY] = True
    st.session_state[COOKIE_KEY] = ""
    if who is None and provider_configured() and provider_user().get("is_logged_in"):
        st.logout()


def checked_path(typed: str) -> Path | None:
    """The path typed into a text box, if it lies inside the app's folders; else says why not (None)."""
    try:
        return check_path(typed, ui.workspace_folders(), server_config())
    except PathRefused as exc:
        st.error(ui.plain(exc))
        return None
