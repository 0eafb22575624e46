"""`python -m mining users ...` (the local user list) and `python -m mining app` (start the UI).

Why the user list is kept by a command: a password must be hashed before it is stored, and typed
where no one else sees it (a prompt, or standard input for scripts), never on the command line
where the shell history and the process list would keep it.

Why `app` passes the address itself: `.streamlit/config.toml` is read from the folder Streamlit is
started in, so `streamlit run /elsewhere/app.py` would miss it; the launcher always says 127.0.0.1
(and no usage statistics) unless told otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import json
import subprocess
import sys
from pathlib import Path

from mining.access.config import LocalUser, ServerConfigError, default_config_path, load_server_config, write_users
from mining.access.passwords import hash_password
from mining.access.roles import ROLES
from mining.access.serving import sign_in_required
from mining.cli_base import EXIT_OK, AddCommand, CommandFailed
from mining.store import default_workspace_path

APP_SCRIPT = Path(__file__).resolve().parents[2] / "app.py"


def _config():
    try:
        return load_server_config()
    except ServerConfigError as exc:
        raise CommandFailed(str(exc)) from exc


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"Password for {args.name}: ")
        if getpass.getpass("Again: ") != password:
            raise CommandFailed("the two passwords differ; nothing was changed")
    if len(password) < 8:
        raise CommandFailed("a password needs at least 8 characters; nothing was changed")
    return password


def command_users(_workspace: object, args: argparse.Namespace) -> int:
    config = _config()
    users = dict(config.users)
    path = config.users_file
    assert path is not None
    if args.users_command == "list":
        rows = [{"name": u.name, "role": u.role} for u in sorted(users.values(), key=lambda u: u.name)]
        if args.json:
            print(json.dumps({"file": str(path), "users": rows}, indent=2))
        else:
            print(f"{len(rows)} user{'s' if len(rows) != 1 else ''} in {path}")
            for row in rows:
                print(f"  {row['name']}  {row['role']}")
        return EXIT_OK
    name = args.name.strip()
    if not name:
        raise CommandFailed("a user name cannot be empty")
    if args.users_command == "remove":
        if users.pop(name, None) is None:
            raise CommandFailed(f"no user {name!r} in {path}")
        write_users(path, users)
        print(f"removed {name} from {path}")
        return EXIT_OK
    existing = users.get(name)
    role = args.role or (existing.role if existing else "reviewer")
    users[name] = LocalUser(name, role, hash_password(_read_password(args)))
    write_users(path, users)
    print(f"{'updated' if existing else 'added'} {name} ({role}) in {path}")
    return EXIT_OK


def command_app(workspace: object, args: argparse.Namespace) -> int:
    config = _config()
    if sign_in_required(args.address, config) and not config.users and not args.allow_sso:
        raise CommandFailed(
            f"serving on {args.address} lets the network in, and nobody may get in without signing in: add users "
            f"with `faultline users add NAME --role lead` (or configure st.login and pass --sso), "
            f"settings in {config.path}")
    command = [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT), "--server.address", args.address,
               "--server.port", str(args.port), "--browser.gatherUsageStats", "false",
               # .streamlit/config.toml's settings, for an installed app that runs outside the checkout
               "--server.enableXsrfProtection", "true", "--server.enableCORS", "true", "--client.toolbarMode", "minimal"]
    if args.headless:
        command += ["--server.headless", "true"]
    command += ["--", "--workspace", str(workspace or default_workspace_path())]
    return subprocess.call(command)


def add_commands(add: AddCommand) -> None:
    """Register `users` and `app` with the entry point's `add(name, handler, help)`."""
    users = add("users", command_users, f"Manage the app's local users (sign-in for a team server); the list is "
                                        f"kept beside {default_config_path()}.")
    users.set_defaults(needs_workspace=False)
    actions = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    user_add = actions.add_parser("add", help="add a user, or change one's password or role (asks for the password)")
    user_add.add_argument("name", metavar="NAME")
    user_add.add_argument("--role", choices=ROLES, help="reviewer (the queue, reviewing) or lead (everything); "
                                                        "default: reviewer, or the user's current role")
    user_add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user_remove = actions.add_parser("remove", help="remove a user")
    user_remove.add_argument("name", metavar="NAME")
    user_list = actions.add_parser("list", help="list the users and their roles")
    user_list.add_argument("--json", action="store_true", help="one JSON object: file, users (name, role)")

    app = add("app", command_app, "Start the app in the browser, on 127.0.0.1 unless --address says otherwise "
                                  "(then sign-in is required).")
    app.set_defaults(needs_workspace=False)
    app.add_argument("--address", default="127.0.0.1", help="the address to listen on (default 127.0.0.1: this "
                                                            "machine only)")
    app.add_argument("--port", type=int, default=8501)
    app.add_argument("--headless", action="store_true", help="do not open a browser")
    app.add_argument("--sso", dest="allow_sso", action="store_true",
                     help="sign-in through st.login (OIDC, .streamlit/secrets.toml) instead of local users")
