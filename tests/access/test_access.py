"""mining.access: server settings, password sign-in with its throttle, roles, the data folders a text
box may name, and the endpoints and key variables the app may use."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mining.access import (EndpointRefused, PathRefused, ServerConfigError, SignInRefused, Throttle, authenticate,
                           can, check_base_url, check_key_variable, check_path, data_folders, is_loopback,
                           load_server_config, sign_in_required)
from mining.access.config import LocalUser, write_users
from mining.access.passwords import hash_password, verify_password
from mining.access.sign_in import LOCKOUT_S, MAX_FAILURES


def settings(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings" / "server.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_settings_file_means_the_closed_defaults(tmp_path):
    config = load_server_config(tmp_path / "missing.toml")
    assert (config.team, config.users, config.data_folders, config.key_variables, config.base_urls) == (
        False, {}, (), (), ())


def test_settings_are_read_with_folders_relative_to_the_file(tmp_path):
    path = settings(tmp_path, """
team = true
data_folders = ["logs", "/srv/faultline"]
[endpoints]
key_variables = ["VLLM_KEY"]
base_urls = ["http://127.0.0.1:8000/v1/"]
[sign_in]
provider = "okta"
leads = ["ann@example.com"]
reviewers = ["*@example.com"]
""")
    config = load_server_config(path)
    assert config.team and config.sign_in_provider == "okta"
    assert config.data_folders == (path.parent / "logs", Path("/srv/faultline"))
    assert config.key_variables == ("VLLM_KEY",)
    assert config.role_of_email("Ann@Example.com") == "lead"
    assert config.role_of_email("bob@example.com") == "reviewer"
    assert config.role_of_email("eve@elsewhere.org") is None
    assert config.role_of_email(None) is None


@pytest.mark.parametrize("text, problem", [
    ("team = 'yes'", "team must be true or false"),
    ("teams = true", "unknown setting teams"),
    ("data_folders = '/srv'", "data_folders must be a list"),
    ("[endpoints]\nkey_variables = [1]", "endpoints.key_variables must be a list"),
    ("team = ", "server.toml"),
])
def test_a_bad_settings_file_is_refused_with_file_and_problem(tmp_path, text, problem):
    with pytest.raises(ServerConfigError, match=problem) as error:
        load_server_config(settings(tmp_path, text))
    assert "server.toml" in str(error.value)


def test_users_are_stored_hashed_and_owner_only(tmp_path):
    path = tmp_path / "users.toml"
    write_users(path, {"ann": LocalUser("ann", "lead", hash_password("correct horse")),
                       'Bob "the" \\ Builder': LocalUser('Bob "the" \\ Builder', "reviewer", hash_password("s3cret-pw"))})
    text = path.read_text()
    assert "correct horse" not in text and "$argon2id$" in text
    assert os.stat(path).st_mode & 0o777 == 0o600
    config = load_server_config(settings(tmp_path, f'users_file = "{path}"'))
    assert {name: user.role for name, user in config.users.items()} == {"ann": "lead", 'Bob "the" \\ Builder': "reviewer"}


@pytest.mark.parametrize("entry, problem", [
    ('role = "admin"\npassword_hash = "$argon2id$x"', "unknown role 'admin'"),
    ('role = "lead"\npassword_hash = "hunter2"', "not an Argon2 hash"),
])
def test_a_bad_user_entry_is_refused(tmp_path, entry, problem):
    (tmp_path / "settings").mkdir()
    (tmp_path / "settings" / "users.toml").write_text(f"[ann]\n{entry}\n")
    with pytest.raises(ServerConfigError, match=problem):
        load_server_config(settings(tmp_path, ""))


def test_passwords_verify_only_the_right_one():
    stored = hash_password("correct horse")
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horse ")
    assert not verify_password("not a hash", "correct horse")
    with pytest.raises(ValueError):
        hash_password("")


def _config_with_ann(tmp_path):
    path = tmp_path / "settings" / "users.toml"
    write_users(path, {"ann": LocalUser("ann", "lead", hash_password("correct horse"))})
    return load_server_config(settings(tmp_path, ""))


def test_sign_in_names_neither_which_part_was_wrong(tmp_path):
    config, throttle = _config_with_ann(tmp_path), Throttle()
    assert authenticate(config, " ann ", "correct horse", throttle).role == "lead"
    for name, password in [("ann", "wrong"), ("nobody", "correct horse")]:
        with pytest.raises(SignInRefused, match="^wrong name or password$"):
            authenticate(config, name, password, throttle)


def test_repeated_failures_lock_the_name_for_a_while(tmp_path):
    now = [1000.0]
    config, throttle = _config_with_ann(tmp_path), Throttle(clock=lambda: now[0])
    for _ in range(MAX_FAILURES):
        with pytest.raises(SignInRefused, match="wrong"):
            authenticate(config, "ann", "guess", throttle)
    with pytest.raises(SignInRefused, match="too many failed sign-ins"):
        authenticate(config, "ann", "correct horse", throttle)  # even the right password waits
    now[0] += LOCKOUT_S + 1
    assert authenticate(config, "ann", "correct horse", throttle).name == "ann"


def test_roles():
    assert can("lead", "export") and can("reviewer", "review") and can("reviewer", None)
    for action in ("adjudicate", "taxonomy", "export", "evaluate", "settings", "ingest", "workspace"):
        assert not can("reviewer", action)


@pytest.mark.parametrize("address, loopback", [
    ("127.0.0.1", True), ("127.0.0.5", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("", False), (None, False), ("192.168.1.10", False), ("example.com", False),
])
def test_only_loopback_counts_as_this_machine(address, loopback):
    assert is_loopback(address) is loopback


def test_sign_in_is_required_beyond_loopback_or_when_asked(tmp_path):
    closed = load_server_config(tmp_path / "missing.toml")
    assert not sign_in_required("127.0.0.1", closed)
    assert sign_in_required("0.0.0.0", closed) and sign_in_required(None, closed)
    assert sign_in_required("127.0.0.1", load_server_config(settings(tmp_path, "team = true")))


def test_paths_only_inside_the_data_folders(tmp_path, monkeypatch):
    workspace_folder, data, outside = tmp_path / "ws", tmp_path / "data", tmp_path / "outside"
    for folder in (workspace_folder, data, outside):
        folder.mkdir()
    (outside / "secrets.json").write_text("{}")
    (data / "link").symlink_to(outside)
    monkeypatch.setenv("FAULTLINE_DATA", str(data))
    config = load_server_config(tmp_path / "missing.toml")
    folders = data_folders(config, workspace_folder / "w.duckdb")
    assert folders == (workspace_folder.resolve(), data.resolve())
    assert check_path(str(data / "logs.jsonl"), folders, config) == (data / "logs.jsonl").resolve()
    assert check_path("team.duckdb", folders, config) == (workspace_folder / "team.duckdb").resolve()
    for typed in [str(outside / "secrets.json"), "/etc/passwd", str(data / ".." / "outside"), str(data / "link"),
                  str(data / "link" / "secrets.json"), "~/.ssh/id_rsa", "../outside/secrets.json"]:
        with pytest.raises(PathRefused, match="outside the folders this app may use"):
            check_path(typed, folders, config)


def test_key_variables_only_from_the_allow_list(tmp_path):
    config = load_server_config(settings(tmp_path, '[endpoints]\nkey_variables = ["VLLM_KEY"]'))
    check_key_variable("VLLM_KEY", config)
    for name in ("AWS_SECRET_ACCESS_KEY", "OPENAI_API_KEY", "vllm_key"):
        with pytest.raises(EndpointRefused, match="may not read the environment variable"):
            check_key_variable(name, config)


def test_base_urls_allow_listed_in_team_mode(tmp_path):
    config = load_server_config(settings(tmp_path, '[endpoints]\nbase_urls = ["http://127.0.0.1:8000/v1"]'))
    check_base_url("http://127.0.0.1:8000/v1/", config, team=True)
    check_base_url("https://anything.example/v1", config, team=False)
    with pytest.raises(EndpointRefused, match="not an endpoint this team server may call"):
        check_base_url("https://attacker.example/v1", config, team=True)
    with pytest.raises(EndpointRefused, match="http:// or https://"):
        check_base_url("file:///etc/passwd", config, team=False)


def test_users_command_adds_lists_and_removes_with_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    import io
    import json

    from mining.__main__ import main

    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["users", "add", "ann", "--role", "lead", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "rob", "--password-stdin"]) == 1
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["users"] == [{"name": "ann", "role": "lead"}]
    config = load_server_config()
    assert verify_password(config.users["ann"].password_hash, "a long password")
    assert "a long password" not in Path(listed["file"]).read_text()
    assert main(["users", "remove", "ann"]) == 0 and load_server_config().users == {}
    assert main(["users", "remove", "ann"]) == 1
    assert not (tmp_path / "workspace.duckdb").exists()  # a users command opens no workspace


def test_the_app_command_refuses_to_serve_the_network_with_no_sign_in(capsys, monkeypatch):
    from mining.__main__ import main

    started = []
    monkeypatch.setattr("subprocess.call", lambda command: started.append(command) or 0)
    assert main(["app", "--address", "0.0.0.0"]) == 1
    assert "nobody may get in without signing in" in capsys.readouterr().err and not started
    assert main(["app", "--headless", "--port", "8600", "--workspace", "/tmp/w.duckdb"]) == 0
    command = started[0]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[-2:] == ["--workspace", "/tmp/w.duckdb"]


def test_session_tokens_sign_in_until_expiry_password_change_removal_or_sign_out(tmp_path):
    from mining.access import sessions

    config = _config_with_ann(tmp_path)
    secret = sessions.session_secret(config)
    assert os.stat(config.path.parent / "session.key").st_mode & 0o777 == 0o600
    assert sessions.session_secret(config) == secret
    token = sessions.issue(config.users["ann"], secret, now=1_000_000)
    assert sessions.verify(token, config, secret, now=1_000_060).name == "ann"
    assert sessions.verify(token, config, secret, now=1_000_000 + sessions.LIFETIME_S + 1) is None
    assert sessions.verify(token, config, b"another server's key", now=1_000_060) is None
    payload, signature = token.split(".")
    assert sessions.verify(payload[:-2] + "AA." + signature, config, secret, now=1_000_060) is None
    for junk in (None, "", "a.b.c", "nodot"):
        assert sessions.verify(junk, config, secret) is None
    write_users(config.users_file, {"ann": LocalUser("ann", "lead", hash_password("a new password"))})
    assert sessions.verify(token, load_server_config(config.path), secret, now=1_000_060) is None
    fresh = sessions.issue(load_server_config(config.path).users["ann"], secret, now=1_000_000)
    assert sessions.verify(fresh, load_server_config(config.path), secret, now=1_000_060) is not None
    sessions.revoke(fresh)
    assert sessions.verify(fresh, load_server_config(config.path), secret, now=1_000_060) is None
    write_users(config.users_file, {})
    other = sessions.issue(LocalUser("ann", "lead", hash_password("x" * 8)), secret)
    assert sessions.verify(other, load_server_config(config.path), secret) is None
