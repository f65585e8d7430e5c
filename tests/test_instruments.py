"""Instrument definitions: shipped content follows instruments.md; validation names file, field and problem."""

from __future__ import annotations

import pytest
import yaml

import recoverystudy as rs
from recoverystudy._resources import bundled_files
from recoverystudy.errors import InstrumentError, InstrumentNotFoundError

SHIPPED = {"rsa-person": 36, "rsa-provider": 36, "es": 28, "star-p": 12, "star-c": 12, "qpr-15": 15, "wai-sr": 12}


@pytest.mark.parametrize("name, n_items", SHIPPED.items())
def test_shipped_instruments_load_with_item_counts(name, n_items):
    inst = rs.load_instrument(name)
    assert len(inst.items) == n_items
    assert all(len(it.label.split()) <= 6 for it in inst.items)
    for sid, sc in inst.scales.items():
        assert sc.provenance.status in ("established", "derived-from-wording", "unestablished")
        assert sc.provenance.source


def test_what_is_scorable_follows_the_reference():
    table = rs.list_instruments().set_index("id")
    assert table.loc["rsa-person", "scorable_scales"] == "total"
    assert table.loc["rsa-provider", "scorable_scales"] == "total"
    assert table.loc["es", "scorable_scales"] == ""  # reverse-key positions not established
    assert table.loc["star-p", "scorable_scales"] == table.loc["star-c", "scorable_scales"] == ""
    assert table.loc["qpr-15", "scorable_scales"] == "total"
    assert table.loc["wai-sr", "scorable_scales"] == "total, task, goal, bond"


def test_established_facts():
    wai = rs.load_instrument("wai-sr")
    assert wai.scales["task"].items == ("wai_01", "wai_02", "wai_10", "wai_12")
    assert wai.scales["goal"].items == ("wai_04", "wai_06", "wai_08", "wai_11")
    assert wai.scales["bond"].items == ("wai_03", "wai_05", "wai_07", "wai_09")
    assert (wai.response_min, wai.response_max) == (1, 5)
    qpr = rs.load_instrument("qpr-15")
    assert (qpr.response_min, qpr.response_max, qpr.scales["total"].method) == (0, 4, "sum")
    assert qpr.scales["total"].provenance.status == "established"
    star = rs.load_instrument("star-p")
    assert [star.scales[s].size for s in ("positive_collaboration", "positive_clinician_input",
                                          "non_supportive_clinician_input")] == [6, 3, 3]
    assert (star.response_min, star.response_max) == (0, 4)
    es = rs.load_instrument("es")
    assert es.reverse_keyed is None and es.reverse_provenance.status == "unestablished"
    rsa = rs.load_instrument("rsa-person")
    assert rsa.reverse_keyed == () and rsa.reverse_provenance.status == "derived-from-wording"
    assert {"N/A", "D/K"} <= set(rsa.non_answer)


def test_every_bundled_file_is_valid_yaml_with_matching_id():
    for name, file in bundled_files("instruments").items():
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert raw["id"] == name


def base():
    return yaml.safe_load(bundled_files("instruments")["wai-sr"].read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "mutate, field, problem",
    [
        (lambda d: d["scales"]["task"].__setitem__("items", ["wai_01", "wai_99"]), "scales.task.items[1]",
         "unknown item 'wai_99'"),
        (lambda d: d["reverse_keyed"].__setitem__("items", ["nope"]), "reverse_keyed.items[0]", "unknown item"),
        (lambda d: d["response"].__setitem__("min", 6), "response", "must be smaller than max"),
        (lambda d: d["scales"]["task"].__setitem__("method", "median"), "scales.task.method", "'mean' or 'sum'"),
        (lambda d: d["scales"]["task"].__setitem__("min_answered", 5), "scales.task.min_answered",
         "between 1 and the 4 items"),
        (lambda d: d["scales"]["task"].pop("provenance"), "scales.task.provenance", "provenance is required"),
        (lambda d: d["scales"]["task"]["provenance"].__setitem__("status", "verified"),
         "scales.task.provenance.status", "must be one of"),
        (lambda d: d["items"][0].__setitem__("label", "one two three four five six seven"), "items[0].label",
         "at most 6 words"),
        (lambda d: d["items"].append(dict(d["items"][0])), "items[12].id", "duplicate item id"),
        (lambda d: d["non_answer"]["codes"].append({"code": 3}), "non_answer.codes[3]", "inside the response range"),
    ],
)
def test_validation_errors_name_file_field_and_problem(tmp_path, mutate, field, problem):
    d = base()
    mutate(d)
    path = tmp_path / "my-wai.yaml"
    path.write_text(yaml.safe_dump(d), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        rs.load_instrument(path)
    msg = str(info.value)
    assert str(path) in msg and field in msg and problem in msg
    assert info.value.field == field


def test_yaml_syntax_error_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nitems: [a, b\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match="broken.yaml") as info:
        rs.load_instrument(path)
    assert info.value.line is not None


def test_unknown_instrument_lists_bundled():
    with pytest.raises(InstrumentNotFoundError, match="wai-sr"):
        rs.load_instrument("ras-24")


def test_key_overlay_records_user_and_checks_sizes(tmp_path):
    key = {"key_for": "star-p", "source": "Transcribed from the licensed paper by our team",
           "reverse_keyed": [],
           "scales": {"positive_collaboration": {"items": [1, 2, 3, 4, 5, 6]}}}
    star = rs.load_instrument("star-p", key=key)
    sc = star.scales["positive_collaboration"]
    assert sc.provenance.status == "user-supplied" and "Transcribed" in sc.provenance.source
    assert star.refusal_reason("positive_collaboration") is None
    assert star.refusal_reason("total") is not None  # still no key for the total
    bad = dict(key, scales={"positive_clinician_input": {"items": [1, 2]}})
    with pytest.raises(InstrumentError, match="published scale has 3 items"):
        rs.load_instrument("star-p", key=bad)
    with pytest.raises(InstrumentError, match="not 'star-p'"):
        rs.load_instrument("star-p", key=dict(key, key_for="es"))
    synthetic = dict(key, synthetic=True)
    assert rs.load_instrument("star-p", key=synthetic).scales["positive_collaboration"].provenance.status == "synthetic"


def test_instrument_views():
    wai = rs.load_instrument("wai-sr")
    assert "WAI-SR" in wai.summary() and "<table" in wai._repr_html_()
    assert wai.column("total") == "wai_sr_total"


def test_misspelt_fields_are_refused_with_a_suggestion(tmp_path):
    from recoverystudy._resources import data_dir

    raw = yaml.safe_load((data_dir("instruments") / "wai-sr.yaml").read_text(encoding="utf-8"))
    raw["scalez"] = raw.pop("scales")
    bad = tmp_path / "wai-typo.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"wai-typo.yaml: scalez: unknown field. Did you mean 'scales'"):
        rs.load_instrument(bad)
    raw["scales"] = raw.pop("scalez")
    raw["scales"]["task"]["min_answerd"] = 3
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(InstrumentError, match=r"scales.task.min_answerd: unknown field. Did you mean 'min_answered'"):
        rs.load_instrument(bad)
    with pytest.raises(InstrumentError, match=r"reverse_keys: unknown field. Did you mean 'reverse_keyed'"):
        rs.load_instrument("wai-sr", key={"key_for": "wai-sr", "source": "test", "reverse_keys": ["wai_01"]})


def test_refusal_with_a_key_file_says_what_the_file_lacks():
    inst = rs.load_instrument("es", key={"key_for": "es", "source": "licensed manual",
                                         "scales": {"total": {"items": "all", "method": "mean"}}})
    reason = inst.refusal_reason("total")
    assert "has no reverse_keyed list; add one, or reverse_keyed: [] if no item is reversed" in reason
    assert rs.load_instrument("es").refusal_reason("total") == "Empowerment Scale 'total': the reverse key is not established."
