"""Packaging: the sdist and the wheel hold everything, and the wheel runs on its own.

``python -m build`` builds the sdist from a copy of the source tree and the wheel from that
sdist (so a file missing from the sdist breaks the wheel too). The wheel is installed alone,
with its dependencies from the package index, into a fresh venv, and run there. ``pipx
install`` is run the way the README says, and the autostart entry it then writes starts
deskbreak on the test desktop.
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from deskbreak import __version__
from deskbreak.adapters import autostart

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".venv", "build", "dist", ".git", ".hypothesis", ".ci"}


def run(
    argv: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 600,
    cwd: Path | None = None,
) -> str:
    r = subprocess.run(
        argv,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )
    assert r.returncode == 0, f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout}{r.stderr}"
    return r.stdout


def package_files() -> set[str]:
    """Every file of the deskbreak package in the source tree, as a path relative to it."""
    found = set()
    for path in (ROOT / "deskbreak").rglob("*"):
        if "__pycache__" in path.parts or not path.is_file() or path.suffix == ".pyc":
            continue
        found.add(path.relative_to(ROOT).as_posix())
    return found


def pip_settings() -> dict[str, str]:
    """The pip cache and user configuration of whoever runs the tests.

    The tests give programs a throwaway HOME; pip should still use the developer's cache
    (fast, and no network when it is warm) and their index settings.
    """
    found = {"PIP_CACHE_DIR": run([sys.executable, "-m", "pip", "cache", "dir"]).strip()}
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for config in (config_home / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"):
        if config.is_file():
            found["PIP_CONFIG_FILE"] = str(config)
            break
    return found


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree without the venv, build output and caches."""
    target = tmp_path_factory.mktemp("src") / "deskbreak-src"

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if n in SKIP or n.endswith((".egg-info", "_cache")) or n == "__pycache__"
        }

    shutil.copytree(ROOT, target, ignore=ignore)
    return target


@pytest.fixture(scope="module")
def dists(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(source)])
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return sdist, wheel


def test_version_comes_from_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "deskbreak.__version__"}


def test_sdist_holds_the_sources_catalogue_and_example(dists: tuple[Path, Path]) -> None:
    sdist, _ = dists
    assert sdist.name == f"deskbreak-{__version__}.tar.gz"
    prefix = f"deskbreak-{__version__}/"
    with tarfile.open(sdist) as tar:
        names = {n.removeprefix(prefix) for n in tar.getnames()}
    assert {"pyproject.toml", "README.md", "config.example.toml", "MANIFEST.in"} <= names
    missing = package_files() - names
    assert not missing, f"not in the sdist: {sorted(missing)}"


def test_wheel_holds_the_package_and_its_data(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    assert wheel.name == f"deskbreak-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta = email.message_from_bytes(zf.read(f"deskbreak-{__version__}.dist-info/METADATA"))
        entry_points = zf.read(f"deskbreak-{__version__}.dist-info/entry_points.txt").decode()
    missing = package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "deskbreak/data/config.example.toml" in names
    assert "deskbreak/exercises.py" in names  # the catalogue
    assert meta["Version"] == __version__
    assert "deskbreak = deskbreak.cli:main" in entry_points
    requires = " ".join(meta.get_all("Requires-Dist") or [])
    for dep in ("pystray", "pillow", "apscheduler", "tomlkit", "platformdirs", "jeepney"):
        assert dep in requires.lower()


def test_the_wheel_alone_in_a_fresh_venv_runs(dists: tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = dists
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])
    script = venv / "bin" / "deskbreak"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "DESKBREAK_"))}
    env.pop("PYTHONPATH", None)
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
    )
    # From elsewhere, so nothing of the source tree can be imported by accident.
    where = run(
        [str(python), "-c", "import deskbreak; print(deskbreak.__file__)"], env=env, cwd=tmp_path
    )
    assert Path(where.strip()).is_relative_to(venv)

    assert run([str(script), "--version"], env=env).strip() == f"deskbreak {__version__}"
    listing = run([str(script), "exercises"], env=env)
    assert "wall-stretch" in listing and "neck-flexion" in listing
    example = run(
        [
            str(python),
            "-c",
            "from deskbreak.adapters import settings_file as s; print(s.example_text(), end='')",
        ],
        env=env,
        cwd=tmp_path,
    )
    assert example == (ROOT / "deskbreak" / "data" / "config.example.toml").read_text()
    assert "OK" in run([str(script), "config", "check", str(ROOT / "config.example.toml")], env=env)

    # The icons are drawn by the installed code.
    run([str(script), "install-desktop"], env=env)
    icon = tmp_path / "data" / "icons" / "hicolor" / "256x256" / "apps" / "deskbreak.png"
    with Image.open(icon) as im:
        assert (im.format, im.size) == ("PNG", (256, 256))

    # And starting at login runs this venv's deskbreak.
    run([str(script), "autostart", "enable"], env=env)
    entry = tmp_path / "config" / "autostart" / "deskbreak.desktop"
    exec_argv = autostart.parse_desktop_exec(autostart.read_desktop_entry(entry)["Exec"])
    assert exec_argv == [str(script), "run"]


@pytest.mark.desktop
def test_pipx_install_then_autostart_enable_starts_deskbreak(  # type: ignore[no-untyped-def]
    source: Path, desktop_factory, tmp_path: Path
) -> None:
    """The README's way: ``pipx install .``, ``deskbreak autostart enable``, log in."""
    d = desktop_factory()
    env = dict(d.env)
    env.pop("PYTHONPATH", None)
    bin_dir = tmp_path / "bin"
    env.update(
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(bin_dir),
        PIPX_MAN_DIR=str(tmp_path / "man"),
        USE_EMOJI="0",
        **pip_settings(),
    )
    run([sys.executable, "-m", "pipx", "install", str(source)], env=env)
    script = bin_dir / "deskbreak"
    assert run([str(script), "--version"], env=env).strip() == f"deskbreak {__version__}"

    run([str(script), "autostart", "enable"], env=env)
    entry = Path(env["XDG_CONFIG_HOME"]) / "autostart" / "deskbreak.desktop"
    r = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout
    argv = autostart.parse_desktop_exec(autostart.read_desktop_entry(entry)["Exec"])
    assert argv == [str(script), "run"]  # the command pipx put on PATH, by absolute path

    # What the session does at login: run the entry; deskbreak's icon shows in the tray.
    proc = d.spawn("deskbreak-from-pipx", argv)
    d.wait_for_sni_item(proc.pid, timeout=20)
    proc.terminate()
