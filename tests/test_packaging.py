"""The image is built from pinned, hashed dependencies, holds every script the README mentions,
and runs as a user that is not root. (No Docker engine runs here: the files are checked, and
``pip install --require-hashes -r requirements.lock`` was run in a clean venv.)"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.lock."""
    text = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.split("\\", 1)[0].strip()
        if "==" not in first or first.startswith("#"):
            continue
        name, version = first.split("==")
        pins[canonicalize_name(name)] = (version.strip(), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def test_every_dependency_of_the_bot_is_locked_with_hashes_at_an_allowed_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["postgres"]]
    pins = _locked()

    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run make lock"
        version, hashes = pins[name]
        assert req.specifier.contains(version, prereleases=True), f"{req.name}=={version} breaks {req}"
        assert hashes, f"{req.name} has no hash"
    # python-telegram-bot's rate limiter extra pulls aiolimiter in
    assert "aiolimiter" in pins
    assert not any("file://" in line or line.startswith("--") for line in _lock_lines())


def _lock_lines() -> list[str]:
    return (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()


def test_the_image_installs_exactly_the_lock() -> None:
    assert re.search(r"pip install --require-hashes --no-deps -r requirements\.lock", DOCKERFILE)
    # nothing else is installed by name (which would bypass the pins)
    installs = re.findall(r"pip install[^\n]*", DOCKERFILE)
    assert len(installs) == 1


def test_the_image_holds_every_script_the_readme_mentions() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    mentioned = set(re.findall(r"scripts/[\w-]+\.py", readme))
    assert "scripts/import_prices.py" in mentioned
    copied = re.findall(r"^COPY (\S+) (\S+)", DOCKERFILE, re.M)
    for script in mentioned:
        assert (ROOT / script).is_file(), f"the README mentions {script}, which does not exist"
        assert any(src == script or src == "scripts" for src, _dst in copied), f"{script} not copied"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "scripts" not in ignored


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert users and users[-1] not in ("root", "0")
    last_user = DOCKERFILE.rindex("\nUSER ")
    assert DOCKERFILE.index('CMD ["python", "-m", "bot"]') > last_user
