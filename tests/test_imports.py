"""Import hygiene: `import recoverystudy` stays light (no matplotlib, docx, click, lxml)."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_pull_heavy_or_cli_modules():
    code = (
        "import sys, recoverystudy\n"
        "heavy = [m for m in ('matplotlib', 'docx', 'click', 'lxml', 'odf', 'pypdf', 'rich') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_all_names_exist():
    import recoverystudy as rs

    missing = [name for name in rs.__all__ if not hasattr(rs, name)]
    assert missing == []
