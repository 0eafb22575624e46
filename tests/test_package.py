"""The package: what `pip install .` puts on a machine is the whole app, and `faultline` is its command."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import mining
from mining.__main__ import build_parser
from paths import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_faultline_command_is_the_command_line_entry_point():
    assert PYPROJECT["project"]["scripts"] == {"faultline": "mining.__main__:main"}


def test_the_version_has_one_home():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mining.__version__"}
    assert mining.__version__.count(".") == 2


def test_every_package_data_file_and_app_module_is_installed():
    """Every package of the library, every page, and every file a module reads at run time."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    include = setuptools["packages"]["find"]["include"]
    packages = {path.parent.relative_to(ROOT).as_posix().replace("/", ".") for path in (ROOT / "mining").rglob("__init__.py")}
    assert all(package == "mining" or "mining.*" in include for package in packages) and "mining" in include
    assert "views" in include and set(setuptools["py-modules"]) == {"app", "ui", "access_ui", "table_ui", "endpoint_ui"}
    top_level = {path.stem for path in ROOT.glob("*.py")}
    assert top_level == set(setuptools["py-modules"])  # no root module the app imports is left behind
    data = [path for path in (ROOT / "mining").rglob("*") if path.is_file() and path.suffix not in (".py", ".pyc")]
    package_data = setuptools["package-data"]
    assert data and all(any(fnmatch(path.name, pattern) for pattern in package_data.get(package_of(path), []))
                        for path in data), (data, package_data)


def package_of(path: Path) -> str:
    """The dotted package a data file sits in, as setuptools' package-data names it."""
    return path.parent.relative_to(ROOT).as_posix().replace("/", ".")


def test_help_lists_every_command_under_the_name_it_was_called_by(tmp_path):
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"app", "ingest", "review", "export", "evaluate", "report", "cluster"} <= commands
    script = tmp_path / "faultline"  # what pip writes: a script named faultline that calls main()
    script.write_text("import sys\nfrom mining.__main__ import main\nsys.exit(main())\n")
    result = subprocess.run([sys.executable, str(script), "--help"], cwd=ROOT, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: faultline ")
    assert all(f"    {command} " in result.stdout or f"    {command}\n" in result.stdout for command in commands)


def test_the_app_command_passes_every_checkout_setting_so_an_installed_app_keeps_them(monkeypatch, tmp_path):
    """Run from anywhere, Streamlit would not read the checkout's .streamlit/config.toml: no Deploy
    button (toolbarMode minimal), loopback, XSRF and CORS checks must come with the command itself."""
    from mining.__main__ import main

    launched: list[list[str]] = []
    monkeypatch.setattr(subprocess, "call", lambda command: launched.append(command) or 0)
    assert main(["app", "--workspace", str(tmp_path / "w.duckdb")]) == 0
    (command,) = launched
    passed = {command[i]: command[i + 1] for i, part in enumerate(command) if part.startswith("--") and i + 1 < len(command)}
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    expected = {f"--{section}.{name}": str(value).lower() if isinstance(value, bool) else str(value)
                for section, values in settings.items() for name, value in values.items()}
    assert expected["--client.toolbarMode"] == "minimal"
    assert {option: passed.get(option) for option in expected} == expected
