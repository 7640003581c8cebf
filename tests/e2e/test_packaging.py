"""The wheel `python -m build` makes, installed alone (no extras) in a fresh venv, serves.

This is the install a user does (`pip install hablo && hablo serve`): no test tools, no
optional extras, only the package data the wheel carries. The venv is cached under the
temp directory, keyed on the wheel's declared dependencies, so a rerun only reinstalls
hablo itself (~5 s instead of ~60 s of dependency installs).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("hablo-*.whl")
    return built


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        lines = archive.read(metadata).decode().splitlines()
    return sorted(line for line in lines if line.startswith("Requires-Dist:"))


@pytest.fixture(scope="module")
def bare_venv(wheel: Path) -> Path:
    """A venv holding the wheel and its core dependencies, nothing else."""
    key = hashlib.sha256("\n".join(_requirements(wheel)).encode()).hexdigest()[:16]
    venv = Path(tempfile.gettempdir()) / f"hablo-bare-venv-{key}"
    ready = venv / ".deps-installed"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    if not ready.exists():  # first run (or an interrupted one): a fresh venv, deps and all
        for stale in venv.parent.glob("hablo-bare-venv-*"):  # older dependency sets
            shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([*pip, "install", str(wheel)], check=True, timeout=900)
        ready.touch()
    else:  # same dependency set: only hablo itself changed
        subprocess.run(
            [*pip, "install", "--no-deps", "--force-reinstall", str(wheel)],
            check=True,
            timeout=300,
        )
    return venv


def test_every_tracked_data_file_is_in_the_wheel(wheel: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout to list the tracked files")
    tracked = subprocess.run(
        ["git", "ls-files", "hablo"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = [p for p in tracked if p not in shipped and (ROOT / p).exists()]
    assert missing == [], "add these to [tool.setuptools.package-data] in pyproject.toml"


def test_optional_extras_are_not_installed_with_the_core(bare_venv: Path) -> None:
    """Otherwise the serve test below would not prove that hablo runs without them."""
    probe = subprocess.run(
        [str(bare_venv / "bin" / "python"), "-c", "import aiosmtpd"], capture_output=True
    )
    assert probe.returncode != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environ(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("HABLO_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }
    env["HABLO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'hablo.db'}"
    env.update(settings)
    return env


@pytest.fixture
def served(bare_venv: Path, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [str(bare_venv / "bin" / "hablo"), "serve", "--port", str(port)],
        cwd=tmp_path,  # not the checkout: only the installed package may be imported
        env=_environ(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None:
                output = server.stderr.read() if server.stderr else ""
                pytest.fail("hablo serve exited:\n" + output)
            assert time.monotonic() < deadline, "hablo serve did not answer /healthz in 120 s"
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.communicate(timeout=60)


def test_the_bare_wheel_serves_health_and_its_package_data(served: str) -> None:
    health = requests.get(served + "/healthz", timeout=10)
    assert health.status_code == 200
    # The migrations shipped in the wheel brought the new database to the code's head.
    ready = requests.get(served + "/readyz", timeout=30)
    assert ready.status_code == 200 and ready.json()["checks"]["migrations"] == "ok", ready.text
    scraped = requests.get(served + "/metrics", timeout=30)  # from loopback: allowed
    assert scraped.status_code == 200 and "hablo_api_requests_total" in scraped.text
    # Templates, locale catalogues and static files come from the wheel, not the checkout.
    login = requests.get(served + "/app/login", timeout=30)
    assert login.status_code == 200 and "<form" in login.text
    chat = requests.get(served + "/chat/demo", timeout=30)
    assert chat.status_code in (200, 404)  # no demo tenant seeded; the page must not 500
    assert requests.get(served + "/docs", timeout=30).status_code == 200


def test_an_extra_part_without_its_extra_fails_with_one_line_naming_it(
    bare_venv: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(bare_venv / "bin" / "hablo"), "serve", "--port", str(_free_port())],
        cwd=tmp_path,
        env=_environ(tmp_path, HABLO_CHANNELS='["console", "webchat", "email"]'),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) >= 1 and "[email]" in lines[-1] and "pip install" in lines[-1], done.stderr
    assert "Traceback" not in done.stderr, done.stderr
