"""State that survives a reload and links that land where they point (AppTest): the reviewer's name
(a cookie), the workspace in use (`ws` in the URL, checked like the sidebar's field) and the record
(`record`, on the Records page too after another record was opened there)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import ui
from mining.store import Workspace
from review_data import load_calls
from access.test_access_pages import PASSWORDS, write_settings
from paths import ROOT


def app(**query: str) -> AppTest:
    """The app, not run yet, opened from a URL with `query` as its parameters."""
    at = AppTest.from_file(ROOT / "app.py", default_timeout=120)
    at.query_params.update(query)
    return at


def texts(at: AppTest) -> list[str]:
    return [element.value for element in at.text]


@pytest.fixture
def other(tmp_path, workspace, write_log, openai_line) -> tuple[Path, dict[str, str]]:
    """A second workspace beside the server's own (so inside its folders) with calls the first lacks."""
    path = tmp_path / "other.duckdb"
    ids = load_calls(Workspace.open(path), write_log, openai_line, name="other.jsonl")
    return path, ids


# --- The reviewer's name ------------------------------------------------------------------------


def test_a_new_session_starts_with_the_name_this_browser_used_last(workspace, monkeypatch):
    monkeypatch.setattr(ui, "browser_cookies", lambda: {ui.REVIEWER_COOKIE: "Ana%20Lee%20%3Cb%3E"})
    at = app().run()
    assert at.sidebar.text_input(key=ui.REVIEWER_KEY).value == "Ana Lee <b>"
    assert not at.html  # the browser holds that name already: nothing to hand it


def test_a_typed_name_goes_to_a_cookie_through_a_constant_script(workspace):
    at = app().run()
    at.sidebar.text_input(key=ui.REVIEWER_KEY).input("<img src=x onerror=alert(1)>").run()
    scripts = [element.proto.body for element in at.html]
    assert len(scripts) == 1 and ui.REVIEWER_COOKIE in scripts[0]
    assert "<img" not in scripts[0]  # the script reads the field; the name never enters the page's HTML
    at.run()
    assert not at.html  # handed once


# --- The workspace in a link --------------------------------------------------------------------


def test_a_link_from_another_workspace_opens_its_record_there(workspace, other):
    path, ids = other
    workspace.cursor().execute("DELETE FROM records")  # the server's own workspace lacks the record
    at = app(ws=str(path)).run()
    assert at.sidebar.text_input(key=ui.WORKSPACE_KEY).value == str(path)
    at.query_params["record"] = ids["f-2"]
    at.switch_page("views/records.py").run()
    assert not at.exception
    assert "question 2 about topic 2" in texts(at)
    assert at.query_params["ws"] == str(path)  # kept, so a link copied from here lands here too


def test_the_workspace_in_use_stays_in_the_url_and_the_default_is_left_out(workspace, other):
    path, _ = other
    at = app().run()
    assert "ws" not in at.query_params
    at.sidebar.text_input(key=ui.WORKSPACE_KEY).input(str(path)).run()
    assert at.query_params["ws"] == str(path)
    at.sidebar.text_input(key=ui.WORKSPACE_KEY).input(str(workspace.path)).run()
    assert "ws" not in at.query_params


def test_a_link_to_a_path_outside_the_folders_opens_nothing(workspace, tmp_path):
    outside = Path("/etc/faultline-link-test.duckdb")
    at = app(ws=str(outside)).run()
    assert at.sidebar.text_input(key=ui.WORKSPACE_KEY).value == ui.initial_workspace_path()
    assert any("Not opened" in error.value for error in at.sidebar.error)
    assert not outside.exists()
    assert "ws" not in at.query_params  # the URL says where the session really is


def sign_in(at: AppTest, name: str) -> AppTest:
    at.run()
    at.text_input(key="sign_in_name").set_value(name)
    at.text_input(key="sign_in_password").set_value(PASSWORDS[name])
    at.button[0].click().run()
    assert not at.exception
    return at


def test_in_team_mode_only_a_lead_follows_a_workspace_link(workspace, other):
    from access.test_access_pages import LocalUser, hash_password

    path, _ = other
    write_settings("team = true\n", {name: LocalUser(name, role, hash_password(PASSWORDS[name]))
                                     for name, role in (("ann", "lead"), ("rob", "reviewer"))})
    reviewer = sign_in(app(ws=str(path)), "rob")
    assert [text.value for text in reviewer.sidebar.text][:2] == ["Workspace", ui.initial_workspace_path()]
    assert any("only a lead may switch workspaces" in warning.value for warning in reviewer.sidebar.warning)
    lead = sign_in(app(ws=str(path)), "ann")
    assert lead.sidebar.text_input(key=ui.WORKSPACE_KEY).value == str(path)


# --- The record in a link -----------------------------------------------------------------------


def test_open_in_records_after_another_record_was_opened_there_lands_on_the_new_one(workspace, write_log,
                                                                                    openai_line):
    ids = load_calls(workspace, write_log, openai_line)
    at = app().run()
    at.switch_page("views/records.py").run()
    table = at.dataframe[0]
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    first = at.query_params["record"]
    assert first == table.value["record_id"][0]
    at.switch_page("views/review.py").run()  # elsewhere, then Open in Records on another record
    at.query_params["record"] = ids["f-3"]
    at.switch_page("views/records.py").run()
    assert not at.exception
    assert at.query_params["record"] == ids["f-3"]
    assert "question 3 about topic 0" in texts(at)


def test_the_review_page_links_the_record_on_screen_to_records(workspace, write_log, openai_line):
    ids = load_calls(workspace, write_log, openai_line)
    at = app(record=ids["f-1"]).run()
    at.switch_page("views/review.py").run()
    link = next(element for element in at.get("page_link") if element.proto.label == "Open in Records")
    assert link.proto.query_string == f"record={ids['f-1']}"
