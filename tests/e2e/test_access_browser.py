"""End to end, in chromium: the app listens on loopback by default and sends nothing out; served as
a team server, a signed-out visitor meets only the sign-in page, a reviewer reaches no lead page or
action, and a lead's text boxes reach no path outside the data folders."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest

from browser import needs_chromium, open_nav, serve, shown
from mining.access import CONFIG_ENV
from mining.access.config import LocalUser, write_users
from mining.access.passwords import hash_password
from mining.demo import load_demo
from mining.store import Workspace

pytestmark = needs_chromium
PASSWORDS = {"ann": "lead-password", "rob": "reviewer-password"}


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port`, read from /proc/net/tcp and tcp6."""
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                addresses.add(address if width == 32 else ".".join(str(int(address[i:i + 2], 16))
                                                                   for i in (6, 4, 2, 0)))
    return addresses


def outside_requests(page, origin: str) -> list[str]:
    """Every request the page makes to anywhere but the app's own origin, recorded as it happens."""
    seen: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((origin, "data:", "blob:"))
            else seen.append(request.url))
    return seen


def test_by_default_the_app_listens_on_loopback_only_and_sends_nothing_out(tmp_path, chromium_page):
    with serve(tmp_path / "workspace.duckdb", tmp_path / "streamlit.log", defaults=True) as url:
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(port) == {"127.0.0.1"}
        outside = outside_requests(chromium_page, url)
        chromium_page.goto(url)
        shown(chromium_page, chromium_page.get_by_role("button", name="Load demo data"))
        open_nav(chromium_page, "Records")
        shown(chromium_page, chromium_page.get_by_text("No records yet", exact=False))
        assert outside == []
        assert not chromium_page.get_by_text("Deploy", exact=True).count()


@pytest.fixture
def team_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workspace with the demo data, served as a team server (team = true) with one lead and one reviewer."""
    settings = Path(os.environ[CONFIG_ENV])
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("team = true\n", encoding="utf-8")
    write_users(settings.parent / "users.toml", {name: LocalUser(name, role, hash_password(PASSWORDS[name]))
                                                 for name, role in (("ann", "lead"), ("rob", "reviewer"))})
    path = tmp_path / "workspace.duckdb"
    load_demo(Workspace.open(path))
    Workspace.close_all()
    yield path


@pytest.fixture
def team_url(team_workspace: Path, tmp_path: Path) -> Iterator[str]:
    with serve(team_workspace, tmp_path / "streamlit.log") as url:
        yield url


def sign_in(page, url: str, name: str, password: str | None = None) -> None:
    page.goto(url)
    shown(page, page.get_by_role("heading", name="Sign in to Faultline"))
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password if password is not None else PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


def nav_titles(page) -> list[str]:
    return [link.inner_text().splitlines()[-1].strip()
            for link in page.locator('[data-testid="stSidebarNavLink"]').all()]


def test_a_signed_out_visitor_meets_only_the_sign_in_page(team_url, chromium_page):
    from playwright.sync_api import expect

    page = chromium_page
    page.context.add_cookies([{"name": "faultline_session", "value": "forged.token", "url": team_url}])
    for path in ("", "/records", "/export", "/review?record=0123"):
        page.goto(team_url + path)
        shown(page, page.get_by_role("heading", name="Sign in to Faultline"))
        expect(page.get_by_text("3,000", exact=True)).to_have_count(0)
        assert [title for title in nav_titles(page) if title != "Sign in"] == []
    sign_in(page, team_url, "ann", "a wrong password")
    shown(page, page.get_by_text("Not signed in: wrong name or password.", exact=True))
    expect(page.get_by_role("heading", name="Faultline", exact=True)).to_have_count(0)


def test_a_reviewer_reaches_no_lead_page_or_action(team_url, chromium_page):
    from playwright.sync_api import expect

    page = chromium_page
    sign_in(page, team_url, "rob")
    shown(page, page.get_by_text("Signed in as rob (reviewer)", exact=True))
    expect(page.get_by_text("Only a lead may load logs.", exact=True)).to_have_count(0)  # the demo is loaded
    titles = nav_titles(page)
    assert "Review" in titles and "Records" in titles
    assert not {"Ingest", "Export", "Evaluate", "Quarantine"} & set(titles)
    expect(page.get_by_label("Reviewer")).to_have_count(0)  # reviews are recorded under who signed in
    open_nav(page, "Review")
    shown(page, page.get_by_role("tab", name="Agreement")).click()
    shown(page, page.get_by_text("Only a lead may settle disputed reviews.", exact=True))
    page.get_by_role("tab", name="Tags").click()
    shown(page, page.get_by_text("Only a lead may change the failure tags.", exact=True))
    # A lead's page by its address: not registered for a reviewer, so it never runs.
    page.goto(team_url + "/export")
    shown(page, page.get_by_text("Signed in as rob (reviewer)", exact=True))
    expect(page.get_by_role("button", name="Preview")).to_have_count(0)
    expect(page.get_by_label("Output folder")).to_have_count(0)


def test_a_lead_may_export_but_no_text_box_reaches_outside_the_data_folders(team_url, chromium_page, tmp_path):
    from playwright.sync_api import expect

    page = chromium_page
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secrets.json").write_text('[{"input": "the secret", "output": "x"}]')
    sign_in(page, team_url, "ann")
    shown(page, page.get_by_text("Signed in as ann (lead)", exact=True))
    assert {"Ingest", "Export", "Evaluate"} <= set(nav_titles(page))
    open_nav(page, "Ingest")
    path_input = page.get_by_label("…or a file or folder on this machine")
    path_input.fill(str(elsewhere))
    path_input.press("Enter")
    shown(page, page.get_by_text(re.compile("outside the folders this app may use")))
    expect(page.get_by_text("secrets.json", exact=False)).to_have_count(0)
    workspace_box = page.get_by_label("Workspace", exact=True)
    workspace_box.fill(str(elsewhere / "made-here.duckdb"))
    workspace_box.press("Enter")
    shown(page, page.get_by_text(re.compile("Not opened: .* lies outside the folders this app may use")))
    assert not (elsewhere / "made-here.duckdb").exists()
    page.reload()  # a new session: the sign-in token the browser holds keeps ann in
    shown(page, page.get_by_text("Signed in as ann (lead)", exact=True))
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "faultline_session")
    page.get_by_role("button", name="Sign out").click()
    shown(page, page.get_by_role("heading", name="Sign in to Faultline"))
    page.reload()
    shown(page, page.get_by_role("heading", name="Sign in to Faultline"))
    # A copy of the token, put back by hand, no longer signs anyone in.
    page.context.add_cookies([{"name": "faultline_session", "value": token, "url": team_url}])
    page.reload()
    shown(page, page.get_by_role("heading", name="Sign in to Faultline"))
    expect(page.get_by_text("Signed in as ann (lead)", exact=True)).to_have_count(0)
