"""Every YAML file goes through one loader that refuses alias bombs, deep nesting and huge documents (issue 14,
item 6)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import recoverystudy as rs
from recoverystudy import _yaml
from recoverystudy.errors import InstrumentError, RecoveryStudyError, UnsafeYAMLError

ROOT = Path(__file__).resolve().parents[1]


def laughs(levels: int = 9, width: int = 9, key: str = "notes", indent: str = "") -> str:
    """A 'billion laughs': ``width ** levels`` strings from a few hundred bytes."""
    lines = [f"{indent}l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"{indent}l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    lines.append(f"{indent}{key}: [*l{levels - 1}]")
    return "\n".join(lines) + "\n"


def test_instrument_notes_bomb_refused_within_a_second(tmp_path):
    """The reproduction: an anchor bomb in an instrument's notes loaded for 23 s and 3.7 GB."""
    text = (ROOT / "instruments" / "wai-sr.yaml").read_text("utf-8")
    head, _, rest = text.partition("\nnotes:\n")
    assert rest, "the bundled WAI-SR file has a notes list"
    # the anchors and aliases all sit inside the notes list: 9 ** 9 strings when expanded
    notes = ["- &l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    notes += [f"- &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = tmp_path / "wai-bomb.yaml"
    bomb.write_text(head + "\nnotes:\n" + "\n".join(notes) + "\n" + rest_after_notes(rest), encoding="utf-8")
    t0 = time.perf_counter()
    with pytest.raises(UnsafeYAMLError) as info:
        rs.load_instrument(bomb)
    assert time.perf_counter() - t0 < 1.0
    err = info.value
    assert isinstance(err, RecoveryStudyError) and isinstance(err, ValueError)
    assert err.reason == "aliases" and err.file == str(bomb) and str(bomb) in str(err)


def rest_after_notes(rest: str) -> str:
    """Drop the original notes list (lines starting with '-' or continuation lines) and keep what follows."""
    lines = rest.split("\n")
    i = 0
    while i < len(lines) and (lines[i].startswith("- ") or lines[i].startswith("  ")):
        i += 1
    return "\n".join(lines[i:])


def test_ordinary_aliases_still_load():
    assert _yaml.load_yaml("a: &x {k: 1}\nb: *x\nc: [*x, *x]") == {"a": {"k": 1}, "b": {"k": 1},
                                                                   "c": [{"k": 1}, {"k": 1}]}
    assert _yaml.load_yaml("") is None
    # a modest amount of repetition (10 x 100 nodes) is fine
    text = "base: &b [" + ", ".join(["1"] * 100) + "]\n" + "".join(f"k{i}: *b\n" for i in range(10))
    assert len(_yaml.load_yaml(text)["k9"]) == 100


@pytest.mark.parametrize("levels, width", [(9, 9), (30, 2), (4, 30)])
def test_alias_expansion_budget(levels, width):
    t0 = time.perf_counter()
    with pytest.raises(UnsafeYAMLError) as info:
        _yaml.load_yaml(laughs(levels, width), file="x.yaml")
    assert time.perf_counter() - t0 < 1.0 and info.value.reason == "aliases"
    # under the budget: 3 levels of width 15 add about 7,500 values
    assert _yaml.load_yaml(laughs(3, 15))["notes"][0][0][0] == ["lol"] * 15


def test_recursive_alias_refused():
    with pytest.raises(UnsafeYAMLError):
        _yaml.load_yaml("a: &a [1, *a]")


def test_oversized_and_deep_documents_refused_fast():
    big = "x: '" + "a" * (_yaml.MAX_BYTES + 1) + "'\n"
    t0 = time.perf_counter()
    with pytest.raises(UnsafeYAMLError) as info:
        _yaml.load_yaml(big, file="big.yaml")
    assert time.perf_counter() - t0 < 1.0 and info.value.reason == "size" and "big.yaml" in str(info.value)
    deep = "[" * 150 + "]" * 150
    with pytest.raises(UnsafeYAMLError) as info:
        _yaml.load_yaml(deep)
    assert info.value.reason == "depth"
    assert _yaml.load_yaml("[" * 50 + "]" * 50) == eval("[" * 50 + "]" * 50)  # noqa: S307 - a literal


def test_codebook_rubric_and_key_files_use_the_safe_loader(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(laughs(), encoding="utf-8")
    for load in (rs.load_codebook, rs.load_rubric):
        t0 = time.perf_counter()
        with pytest.raises(UnsafeYAMLError):
            load(bomb)
        assert time.perf_counter() - t0 < 1.0
    with pytest.raises(UnsafeYAMLError):
        rs.load_instrument("es", key=bomb)
    # not well-formed YAML is still the caller's own named error
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="not valid YAML"):
        rs.load_instrument(broken)


def test_no_module_calls_pyyaml_loaders_directly():
    offenders = []
    for path in (ROOT / "recoverystudy").rglob("*.py"):
        if path.name == "_yaml.py":
            continue
        text = path.read_text("utf-8")
        if "yaml.safe_load" in text or "yaml.load(" in text or "yaml.full_load" in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
