"""Where the checkout and the shipped fixtures are, for tests in any folder under tests/."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
