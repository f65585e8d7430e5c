"""``recoverystudy studio``: refuses what is not a project, and serves one with a token link (killed at the end)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

from click.testing import CliRunner

import recoverystudy as rs
from recoverystudy.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_studio_refuses_a_file_that_is_not_a_project(tmp_path):
    bad = tmp_path / "notes.rsqda"
    bad.write_text("not a database")
    result = CliRunner().invoke(main, ["studio", str(bad), "--no-browser"])
    assert result.exit_code == 2
    assert "is not a recoverystudy project" in result.output
    result = CliRunner().invoke(main, ["studio", str(tmp_path / "missing.rsqda")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_studio_command_serves_the_project_on_localhost(tmp_path):
    path = tmp_path / "study.rsqda"
    with rs.Project.create(path) as proj:
        proj.add_document("SU01: I never had a copy of my care plan.", name="SU01 interview", case="SU01")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "recoverystudy.cli", "studio", str(path), "--coder", "AB",
                             "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        deadline = time.monotonic() + 30
        url = None
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[\w-]+)", line)
            url = m.group(1) if m else None
        assert url, "".join(lines)
        base = url.split("/?")[0]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = None
        while page is None and time.monotonic() < deadline:
            try:
                with opener.open(url, timeout=5) as response:
                    page = response.read().decode()
            except urllib.error.URLError:
                time.sleep(0.1)
        assert "SU01 interview" in page and "Coding as <strong>AB</strong>" in page
        try:
            with urllib.request.urlopen(base + "/", timeout=5):
                raise AssertionError("the studio answered without the token")
        except urllib.error.HTTPError as exc:
            exc.close()
            assert exc.code == 401
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    with rs.Project.open(path) as proj:  # the file is intact after the server was killed
        assert proj.documents()["name"].tolist() == ["SU01 interview"]
        assert proj._store.integrity_problems() == []
