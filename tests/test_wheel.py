"""A non-editable install (a built wheel) finds the bundled instruments and codebooks via importlib.resources."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, text=True)
    (whl,) = out.glob("recoverystudy-*.whl")
    return whl


def test_wheel_contains_data_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for inst in (ROOT / "instruments").glob("*.yaml"):
        assert f"recoverystudy/_data/instruments/{inst.name}" in names
    for cb in (ROOT / "codebooks").glob("*.yaml"):
        assert f"recoverystudy/_data/codebooks/{cb.name}" in names


def test_wheel_ships_the_studio_templates_and_static_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    studio = ROOT / "recoverystudy" / "studio"
    shipped = [p for p in (studio / "templates").iterdir()] + [p for p in (studio / "static").iterdir()]
    assert len(shipped) >= 15
    for path in shipped:
        assert path.relative_to(ROOT).as_posix() in names


def test_installed_wheel_loads_every_bundled_file(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, text=True)
    code = (
        "import recoverystudy as rs, recoverystudy._resources as r, yaml\n"
        "print(rs.__file__)\n"
        "print(r.data_dir('instruments'))\n"
        "for name in r.bundled_files('instruments'): rs.load_instrument(name)\n"
        "for name, f in r.bundled_files('codebooks').items(): yaml.safe_load(f.read_text(encoding='utf-8'))\n"
        "print(len(r.bundled_files('instruments')), len(r.bundled_files('codebooks')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(target))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    module_file, data_dir, counts = out.stdout.strip().splitlines()
    assert module_file.startswith(str(target))  # the installed copy, not the checkout
    assert data_dir.startswith(str(target)) and data_dir.endswith(os.path.join("_data", "instruments"))
    n_inst, n_cb = map(int, counts.split())
    assert n_inst == len(list((ROOT / "instruments").glob("*.yaml")))
    assert n_cb == len(list((ROOT / "codebooks").glob("*.yaml")))
