"""The app's door in AppTest: who gets in, what each role may open and do, and what a text box may
reach on the server (paths, endpoints, key variables)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import streamlit.config
from streamlit.testing.v1 import AppTest

import ui
from chat_server import serve_chat
from export_data import build
from mining import jobs
from mining.access import CONFIG_ENV
from mining.access.config import LocalUser, write_users
from mining.access.passwords import hash_password
from mining.demo import load_demo
from mining.evaluate.runs import list_runs
from mining.export.golden import add_golden
from paths import ROOT

PASSWORDS = {"ann": "lead-password", "rob": "reviewer-password"}


@pytest.fixture(scope="module")
def hashed_users() -> dict[str, LocalUser]:
    return {"ann": LocalUser("ann", "lead", hash_password(PASSWORDS["ann"])),
            "rob": LocalUser("rob", "reviewer", hash_password(PASSWORDS["rob"]))}


def write_settings(text: str, users: dict[str, LocalUser] | None = None) -> Path:
    """The operator's server.toml (where $FAULTLINE_CONFIG points) and, if given, the user list beside it."""
    path = Path(os.environ[CONFIG_ENV])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if users is not None:
        write_users(path.parent / "users.toml", users)
    return path


@pytest.fixture
def team(workspace, hashed_users) -> Path:
    return write_settings("team = true\n", hashed_users)


def app() -> AppTest:
    return AppTest.from_file(ROOT / "app.py", default_timeout=60)


def titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


def sign_in(name: str, password: str | None = None) -> AppTest:
    at = app().run()
    at.text_input(key="sign_in_name").set_value(name)
    at.text_input(key="sign_in_password").set_value(password if password is not None else PASSWORDS[name])
    at.button[0].click().run()
    assert not at.exception
    return at


def unescaped(markdown: str) -> str:
    """The text ui.plain escaped, as a reader sees it."""
    return re.sub(r"\\(.)", r"\1", markdown)


def errors(at: AppTest) -> str:
    return " ".join(unescaped(error.value) for error in at.error)


def infos(at: AppTest) -> str:
    return " ".join(info.value for info in at.info)


def test_on_loopback_the_owner_gets_in_as_lead_without_signing_in(workspace):
    at = app().run()
    assert not at.exception and titles(at) == ["Faultline"]
    at.switch_page("views/export.py").run()  # a lead's page is registered
    assert not at.exception and "Only a lead" not in infos(at)


def test_a_signed_out_visitor_sees_only_the_sign_in_page(team):
    at = app().run()
    assert titles(at) == ["Sign in to Faultline"]
    assert not any(widget.key == ui.WORKSPACE_KEY for widget in at.sidebar.text_input)
    for page in ("views/records.py", "views/overview.py", "views/export.py"):
        with pytest.raises(ValueError, match="Known pages: \\['Sign in'\\]"):
            at.switch_page(page)


def test_a_wrong_password_lets_nobody_in(team):
    at = sign_in("ann", "not the password")
    assert titles(at) == ["Sign in to Faultline"]
    assert "wrong name or password" in errors(at)
    at = sign_in("mallory", PASSWORDS["ann"])
    assert "wrong name or password" in errors(at) and titles(at) == ["Sign in to Faultline"]


def test_a_reviewer_reviews_but_cannot_take_a_lead_action(team, workspace):
    load_demo(workspace)
    at = sign_in("rob")
    assert titles(at) == ["Faultline"]
    assert "Signed in as rob (reviewer)" in [text.value for text in at.sidebar.text]
    assert not any(widget.key == ui.REVIEWER_KEY for widget in at.sidebar.text_input)  # no one else's name
    assert at.session_state[ui.REVIEWER_KEY] == "rob"
    for page in ("views/export.py", "views/ingest.py", "views/evaluate.py", "views/quarantine.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.session_state["review_tabs"] = "Agreement"  # where disputes are settled: drawn only while open
    at.switch_page("views/review.py").run()
    assert not at.exception and "Review" in titles(at)
    shown = infos(at)
    for refused in ("settle disputed reviews", "change the failure tags", "import or export annotations"):
        assert f"Only a lead may {refused}." in shown
    assert not any(button.label.startswith("Pick ") for button in at.button)
    at.switch_page("views/failures.py").run()
    assert "Only a lead may change signal settings and rules." in infos(at)
    assert not any(button.label in ("Run detection", "Save and re-detect", "Add rule") for button in at.button)
    at.switch_page("views/clusters.py").run()
    assert "Only a lead may find failure modes and rename them." in infos(at)


def test_a_lead_signs_in_and_may_export_then_signs_out(team):
    at = sign_in("ann")
    assert "Signed in as ann (lead)" in [text.value for text in at.sidebar.text]
    at.switch_page("views/export.py").run()
    assert not at.exception and "Export" in " ".join(titles(at))
    next(button for button in at.sidebar.button if button.label == "Sign out").click().run()
    assert titles(at) == ["Sign in to Faultline"]


def test_a_user_removed_by_the_operator_is_out_at_the_next_click(team, hashed_users):
    at = sign_in("rob")
    assert titles(at) == ["Faultline"]
    write_settings("team = true\n", {"ann": hashed_users["ann"]})
    at.run()
    assert titles(at) == ["Sign in to Faultline"]


def test_served_beyond_loopback_without_sign_in_nobody_gets_in(workspace):
    previous = streamlit.config.get_option("server.address")
    streamlit.config.set_option("server.address", "0.0.0.0")
    try:
        at = app().run()
    finally:
        streamlit.config.set_option("server.address", previous)
    assert titles(at) == ["Sign in to Faultline"]
    assert "no sign-in is configured, so nobody may get in" in errors(at)
    assert not at.text_input and not at.button


def test_unreadable_settings_keep_the_app_closed(workspace):
    write_settings("team = maybe\n")
    at = app().run()
    assert "The server settings cannot be read, so the app stays closed" in errors(at)
    assert not titles(at)


def test_identity_provider_users_get_the_role_the_settings_give(workspace):
    write_settings('team = true\n[sign_in]\nleads = ["ann@example.com"]\nreviewers = ["*@example.com"]\n')
    secrets = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                        "client_id": "faultline", "client_secret": "s", "server_metadata_url":
                        "http://127.0.0.1:1/.well-known/openid-configuration"}}
    for user, expected in [({"is_logged_in": False}, None),
                           ({"is_logged_in": True, "email": "rob@example.com"}, "reviewer"),
                           ({"is_logged_in": True, "email": "ann@example.com"}, "lead"),
                           ({"is_logged_in": True, "email": "eve@elsewhere.org"}, "no role")]:
        at = app()
        at.secrets.update(secrets)
        at.user = user
        at.run()
        assert not at.exception
        if expected is None:
            assert titles(at) == ["Sign in to Faultline"]
            assert [b.label for b in at.button] == ["Sign in with your organisation's account"]
        elif expected == "no role":
            assert "is signed in but has no role on this server" in errors(at)
        else:
            assert f"Signed in as {user['email']} ({expected})" in [text.value for text in at.sidebar.text]


def test_the_sidebar_refuses_a_workspace_outside_the_data_folders(workspace, tmp_path):
    at = app().run()
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere" / "stolen.duckdb"
    at.sidebar.text_input(key=ui.WORKSPACE_KEY).set_value(str(outside)).run()
    assert not at.exception
    assert "lies outside the folders this app may use" in errors(at)
    assert at.sidebar.text_input(key=ui.WORKSPACE_KEY).value == str(workspace.path)
    assert not outside.parent.exists()
    inside = workspace.path.parent / "team.duckdb"
    at.sidebar.text_input(key=ui.WORKSPACE_KEY).set_value(str(inside)).run()
    assert not at.exception and inside.exists()


def test_ingest_reads_no_path_outside_the_data_folders(workspace, tmp_path, monkeypatch):
    secrets = tmp_path.parent / f"{tmp_path.name}-secrets"
    secrets.mkdir()
    (secrets / "keys.jsonl").write_text('{"input": "x", "output": "y"}\n')
    at = app().run()
    at.switch_page("views/ingest.py").run()
    for typed in (str(secrets), str(secrets / "keys.jsonl"), "/etc", f"{workspace.path.parent}/../{secrets.name}"):
        at.text_input(key="ingest_path").set_value(typed).run()
        assert "outside the folders this app may use" in errors(at)
        assert not any(str(secrets) in text.value for text in at.text)
    monkeypatch.setenv("FAULTLINE_DATA", str(secrets))  # an operator adds the folder
    at.text_input(key="ingest_path").set_value(str(secrets)).run()
    assert not errors(at) and any(text.value.endswith("keys.jsonl") for text in at.text)


def _endpoint_form(at: AppTest) -> AppTest:
    at.switch_page("views/evaluate.py").run()
    at.text_input(key="evaluate_name").set_value("served").run()
    at.radio(key="evaluate_source").set_value("endpoint").run()
    return at


def test_key_variables_only_from_the_allow_list_and_typed_keys_never_stored(workspace, hashed_users, tmp_path,
                                                                             monkeypatch):
    ids = build(workspace, tmp_path)
    add_golden(workspace, [ids["bill-1"], ids["net-1"]], "ana")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    monkeypatch.setenv("ALLOWED_KEY", "allowed-secret-value")
    with serve_chat(lambda body: (200, "The correct answer for that.")) as chat:
        write_settings(f'team = true\n[endpoints]\nkey_variables = ["ALLOWED_KEY"]\nbase_urls = ["{chat.url}"]\n',
                       hashed_users)
        at = _endpoint_form(sign_in("ann"))
        assert at.selectbox(key="evaluate_key_source").options == ["No key", "$ALLOWED_KEY",
                                                                    "Type a key for this session"]
        assert at.selectbox(key="evaluate_base_url").options == [chat.url]
        at.text_input(key="evaluate_model").set_value("tiny")
        at.selectbox(key="evaluate_key_source").set_value("\0typed").run()
        at.text_input(key="evaluate_typed_key").set_value("typed-secret-value").run()
        next(button for button in at.button if button.label == "Ask the endpoint").click().run()
        state = jobs.wait(workspace, timeout=60)
        assert state is not None and state.state == "finished", state
        assert chat.authorizations and set(chat.authorizations) == {"Bearer typed-secret-value"}
    assert list_runs(workspace).to_dicts()[0]["created_by"] == "ann"
    stored = workspace.cursor().execute("SELECT string_agg(source_detail::VARCHAR, ' ') FROM eval_runs").fetchone()[0]
    assert "typed-secret-value" not in stored and "(typed into the session)" in stored
