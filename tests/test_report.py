"""Report layer: real rendering of synthetic results (tests/report_samples.py) to HTML/PDF/JSON."""
from __future__ import annotations

import base64
import copy
import importlib.resources
import io
import json
import os
import re
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import report_samples as rs
from pytest_modelaudit.report import (
    ReportFiles, ReportWarning, ReportWriteError, render, render_html, write_report,
)
from pytest_modelaudit.report.context import build_context
from pytest_modelaudit.report.draw import overlays
from pytest_modelaudit.report.formatting import fmt_num, fmt_threshold

REPO = Path(__file__).resolve().parents[1]
ORDER = {"FAIL": 0, "INCONCLUSIVE": 1, "ERROR": 2, "PASS": 3}


def _env_with_repo() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _decode(uri: str) -> np.ndarray:
    raw = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")).astype(int)


def card(html: str, needle: str) -> str:
    """The HTML of the one audit card that contains ``needle`` (e.g. part of a node id)."""
    found = [c.split("</article>", 1)[0] for c in html.split("<article")[1:] if needle in c]
    assert len(found) == 1, (needle, len(found))
    return found[0]


def _no_render_failures(html: str) -> None:
    assert not re.search(r"(check \d+|this audit|evidence) could not be shown", html, re.I)
    assert "could not be drawn" not in html


@pytest.fixture(scope="module")
def sample():
    return rs.sample_results()


@pytest.fixture(scope="module")
def html(sample):
    return render_html(sample)


@pytest.fixture(scope="module")
def written(sample, tmp_path_factory):
    """The one full write (with PDF) of the test module; records the order files land in."""
    out = tmp_path_factory.mktemp("report") / "nested" / "model-audit-report"
    landed = []
    real_replace = os.replace

    def spy(src, dst, *a, **kw):
        landed.append(Path(dst).name)
        return real_replace(src, dst, *a, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "replace", spy)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReportWarning)
            files = write_report(sample, out)
    return files, out, landed


# --------------------------------------------------------------------------- writing

def test_write_report_writes_json_first_then_html_then_pdf(written, sample):
    files, out, landed = written
    assert isinstance(files, ReportFiles)
    assert landed == ["results.json", "index.html", "summary.md", "report.pdf"]
    assert files.json_path == out / "results.json"
    assert json.loads(files.json_path.read_text(encoding="utf-8")) == sample
    assert files.html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert files.pdf_error is None
    pdf = files.pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "report.pdf", "results.json", "summary.md"]


def test_pdf_missing_weasyprint_warns_and_keeps_html_json(tmp_path, monkeypatch, sample):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    with pytest.warns(ReportWarning, match="PDF not written"):
        files = write_report(sample, tmp_path)
    assert files.pdf_path is None
    assert "ModuleNotFoundError" in files.pdf_error or "ImportError" in files.pdf_error
    assert files.html_path.is_file() and files.json_path.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "results.json", "summary.md"]


def test_pdf_render_error_leaves_no_partial_pdf(tmp_path, monkeypatch, sample):
    """A WeasyPrint that dies half-way (e.g. Pango missing) leaves no temp file and no report.pdf."""
    fake = types.ModuleType("weasyprint")

    class HTML:
        def __init__(self, **kwargs):
            pass

        def write_pdf(self, target=None, **kwargs):
            target.write(b"%PDF-1.7 half a document")
            raise OSError("cannot load library 'libpango-1.0-0'")

    fake.HTML = HTML
    fake.urls = types.SimpleNamespace(default_url_fetcher=lambda url, **kw: None)
    monkeypatch.setitem(sys.modules, "weasyprint", fake)
    (tmp_path / "report.pdf").write_bytes(b"%PDF old")  # an earlier run's PDF: neither half-overwritten nor kept
    with pytest.warns(ReportWarning, match="pango"):
        files = write_report(sample, tmp_path)
    assert files.pdf_path is None and "pango" in files.pdf_error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "results.json", "summary.md"]
    assert "report.pdf" not in (tmp_path / "summary.md").read_text()


def test_no_pdf_run_removes_an_earlier_runs_pdf(tmp_path, sample):
    (tmp_path / "report.pdf").write_bytes(b"%PDF old")
    files = write_report(sample, tmp_path, pdf=False)
    assert files.pdf_path is None and not (tmp_path / "report.pdf").exists()


def test_unwritable_out_dir_names_the_folder(tmp_path, sample):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    out = blocker / "report"
    with pytest.raises(OSError) as info:
        write_report(sample, out, pdf=False)
    assert isinstance(info.value, ReportWriteError)
    assert str(out) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-folder"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_out_dir_names_the_folder(tmp_path, sample):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        with pytest.raises(OSError, match=re.escape(str(out))):
            write_report(sample, out, pdf=False)
    finally:
        out.chmod(0o755)


def test_json_is_strict_and_numpy_safe(tmp_path):
    res = rs.base_results([])
    res["run"]["duration_s"] = float("nan")
    res["run"]["seed"] = np.int64(7)
    res["extra"] = {"arr": np.arange(3), "inf": float("inf")}
    files = write_report(res, tmp_path, pdf=False)
    text = files.json_path.read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["run"]["seed"] == 7 and data["extra"] == {"arr": [0, 1, 2], "inf": None}
    assert data["run"]["duration_s"] is None


def test_cli_rerenders_from_saved_json(tmp_path, sample):
    src = tmp_path / "saved.json"
    src.write_text(json.dumps(sample), encoding="utf-8")
    out = tmp_path / "again"
    proc = subprocess.run([sys.executable, "-m", "pytest_modelaudit.report", str(src), str(out), "--no-pdf"],
                          capture_output=True, text=True, env=_env_with_repo(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(out / "index.html") in proc.stdout
    assert json.loads((out / "results.json").read_text(encoding="utf-8")) == sample
    assert (out / "index.html").read_text(encoding="utf-8") == render_html(sample)
    assert not (out / "report.pdf").exists()

    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "pytest_modelaudit.report", str(bad), str(out)],
                          capture_output=True, text=True, env=_env_with_repo(), timeout=120)
    assert proc.returncode == 2 and "not valid JSON" in proc.stderr


def test_import_does_not_pull_heavy_modules():
    code = ("import sys, pytest_modelaudit.report as r; "
            "heavy = [m for m in ('matplotlib', 'weasyprint', 'tensorflow', 'keras', 'numpy', 'PIL', 'jinja2') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env_with_repo(), timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- content

def test_sample_renders_without_fallbacks(html):
    _no_render_failures(html)
    assert 'id="summary"' in html and 'id="models"' in html and 'id="environment"' in html


def test_table_and_cards_sorted_fail_inconclusive_error_pass(html, sample):
    table = html.split('<table class="audits">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="row-(\w+)">', table)
    assert len(rows) == len(sample["audits"])
    assert [ORDER[r.upper()] for r in rows] == sorted(ORDER[r.upper()] for r in rows)
    assert rows[0] == "fail" and rows[-1] == "pass" and "inconclusive" in rows and "error" in rows
    # Same status: by node id; and the cards follow the table order.
    expected = sorted(sample["audits"], key=lambda a: (ORDER[a["status"]], a["nodeid"]))
    links = re.findall(r'<a class="cardlink" href="#(audit-[0-9a-f]+)">([^<]*)</a>', table)
    assert [t for _, t in links] == [a["title"].replace("'", "&#39;") for a in expected]
    # Cards carry the recorded id, the anchor failure messages point to.
    assert [a for a, _ in links] == [a["id"] for a in expected]
    cards = re.findall(r'<article class="card card-(\w+)[^"]*" id="(audit-[0-9a-f]+)">', html)
    assert [c[1] for c in cards] == [a for a, _ in links]
    assert [c[0] for c in cards] == rows


def test_anchor_without_recorded_id_follows_the_plugin_rule():
    res = rs.sample_results()
    for a in res["audits"]:
        del a["id"]
    res["audits"].append(copy.deepcopy(res["audits"][0]))  # same node id twice: ids stay unique
    html = render_html(res)
    ids = re.findall(r'<article class="card[^"]*" id="([^"]+)">', html)
    assert len(ids) == len(set(ids)) == 7
    assert rs.anchor(res["audits"][0]["nodeid"]) in ids


def test_summary_counts_models_seed_and_version(html):
    summary = html.split('id="summary"', 1)[1].split("</section>", 1)[0]
    assert "4 of 6 audits did not pass" in summary
    for status, n in (("fail", 2), ("inconclusive", 1), ("error", 1), ("pass", 2)):
        assert re.search(rf'tile-{status}"><span class="tile-n">{n}<', summary)
    assert rs.FP in summary and "leopard_shortcut" in summary and "leopard_robust" in summary
    assert "2026-11-22 06:00:00 UTC" in summary and "1 min 10 s" in summary and "0.1.0" in summary


def test_threshold_and_numbers_formatting(html):
    assert fmt_threshold({"metric": "share", "op": "<=", "value": 0.3}) == "≤ 0.30"
    assert fmt_threshold({"metric": "lift", "op": ">=", "value": 2}, with_metric=True) == "lift ≥ 2"
    assert fmt_threshold({"op": "between", "value": [0.1, 0.5]}) == "in [0.10, 0.50]"
    assert fmt_threshold(None) == "—"
    assert fmt_num(0.71) == "0.71" and fmt_num(0.04) == "0.04" and fmt_num(123456) == "123,456"
    assert fmt_num(None) == "—" and fmt_num(float("nan")) == "NaN"
    assert "≤ 0.30" in html and "share</span> 0.71" in html


def test_cards_show_checks_evidence_and_messages(html):
    fail = card(html, "test_snow_not_driving_leopard[shortcut-0]")
    assert "test_snow_not_driving_leopard[shortcut-0]" in fail and "critical" in fail
    assert "measured: share = 0.71" in fail and "share ≤ 0.3\n" in fail  # message, pre-wrapped
    assert "highest: leopard_005.png = 0.95" in fail  # the check's detail line
    assert '<td class="num">8</td>' in fail  # a count recorded as 8.0
    assert '<pre class="message message-fail">' in fail
    assert "Check 1" in fail and "Check 2" in fail and "the same as check 1 above" in fail
    assert "8 × 8 feature map" in fail and "bilinear" in fail and "mask area-downsampled" in fail
    assert fail.count('<tr class="fig-ok">') == 6 and "share 0.94" in fail  # one grid row per telling image

    ablation = card(html, "test_snow_ablation[fill-5]")
    assert "chip-decisive" in ablation and "The verdict hinges on the fill" in ablation
    assert ablation.count("alt=\"leopard_00") == 12  # original + ablated per telling image
    assert "p 0.98 · drop 0.60" in ablation

    robust = card(html, "test_snow_ablation[robust-3]")
    assert "The verdict is the same with every counted fill" in robust
    # a fill that did not remove the region is shown, marked and not counted, with the reason
    assert "chip-not-counted" in robust and "Not counted: changed it by only 0.54x" in robust


def test_inconclusive_and_error_are_shown_apart(html):
    inc = card(html, "test_fox_not_snow")
    assert 'callout-inconclusive' in inc and "all heatmaps are zero" in inc
    assert "never counts as a pass" in inc
    assert inc.startswith(' class="card card-inconclusive')
    err = card(html, "test_hibany_depends_on_red")
    assert "badge-error" in err and "concept folder &#39;concepts/red&#39; does not exist" in err
    assert "No check ran" in err


def test_degenerate_heatmap_captioned_and_not_stretched(html):
    inc = card(html, "test_fox_not_snow")
    assert inc.count('class="fig fig-pair fig-degenerate"') == 6
    assert inc.count("degenerate (all zero)") >= 6
    img, _ = rs.scene(1)
    uri, state = overlays.heatmap_overlay(rs.png_uri(img), np.zeros((8, 8)).tolist())
    assert state.kind == "degenerate" and state.caption == "degenerate (all zero)"
    rgb = _decode(uri)
    assert np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max() <= 6  # grey: no colormap signal
    _, uniform = overlays.heatmap_overlay(rs.png_uri(img), np.full((8, 8), 0.5).tolist())
    assert uniform.kind == "uniform"


def test_heatmap_overlay_orientation_and_outline():
    base = np.full((64, 64, 3), 200, np.uint8)
    heat = np.zeros((8, 8))
    heat[0, 0] = 1.0  # hot cell: top-left
    mask = np.zeros((64, 64), bool)
    mask[32:, 32:] = True  # region: bottom-right quarter
    uri, state = overlays.heatmap_overlay(rs.png_uri(base), heat.tolist(), rs.mask_uri(mask))
    assert state.kind == "ok"
    rgb = _decode(uri)
    assert rgb.shape[:2] == (128, 128)  # 64 px thumbnails are shown at 2x
    top_left, bottom_right = rgb[4, 4], rgb[100, 20]
    assert top_left[0] > top_left[2] + 60  # red end of the colormap
    assert bottom_right[2] > bottom_right[0]  # blue end
    # Region outline: magenta around (row 64, col 96), none at the picture's border.
    edge = rgb[62:67, 96]
    assert ((edge[:, 0] > 170) & (edge[:, 1] < 90) & (edge[:, 2] > 150)).any(), edge
    assert not ((rgb[127, 70:120, 0] > 180) & (rgb[127, 70:120, 1] < 90)).any()


def test_user_text_is_escaped_and_nothing_external():
    html = render_html(rs.hostile_results())
    assert "<script" not in html.lower()
    assert rs.HOSTILE_TITLE not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "<img src=x" not in html and "<svg onload" not in html and "<b>evil</b>" not in html
    assert "&lt;script&gt;model&lt;/script&gt;" in html
    # every resource is embedded; links only point inside the page
    for attr, value in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', html):
        if attr == "src":
            assert value.startswith("data:image/"), value[:60]
        else:
            assert value.startswith("#"), value
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*https?:', html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", html, re.I)
    assert "<link" not in html and "@import" not in html
    assert "https://evil.example/x.png" not in re.findall(r'src="([^"]*)"', html)


def test_print_flavour(sample):
    screen, print_html = render_html(sample), render_html(sample, for_print=True)
    assert "@page" in print_html and "counter(page)" in print_html and "break-inside: avoid" in print_html
    assert "@page" not in screen
    assert "<details" in screen and "<details" not in print_html


def test_fifty_audits_stay_under_ten_megabytes():
    html = render_html(rs.big_results(50))
    assert html.count("<article") == 50
    assert len(html.encode("utf-8")) < 10_000_000
    _no_render_failures(html)


def test_image_budget_leaves_out_images_not_numbers():
    ctx = build_context(rs.big_results(6), image_budget=150_000)
    figs = [f for a in ctx["audits"] for c in a["checks"] for f in c["evidence"].get("figures", [])]
    assert any(f.get("overlay") or f.get("outlined") for f in figs)
    left_out = [f for f in figs if not (f.get("overlay") or f.get("outlined"))]
    assert left_out and all(f["name"] for f in left_out)
    assert any(c["evidence"].get("images_omitted") for a in ctx["audits"] for c in a["checks"])


def test_malformed_results_still_render():
    res = rs.base_results([
        {"nodeid": "t.py::a", "status": "weird", "checks": [{"evidence": {"type": "tcav", "scores": [0.1],
                                                                          "layer": "conv2", "p": 0.01}}]},
        {"title": None, "checks": "nope", "threshold": "??"},
        {"nodeid": "t.py::b", "status": "FAIL", "checks": [{"status": "FAIL", "evidence": {
            "type": "heatmap", "images": [{"name": "x.png", "image": "data:image/png;base64,AAAA",
                                           "heatmap": "bad"}]}}]},
        "not even a dict",
    ])
    res["models"]["junk"] = {"input_shape": None}
    html = render_html(res)
    assert html.count("<article") == 4
    assert "Evidence of type ‘tcav’" in html and "conv2" in html
    assert "could not be drawn" in html  # the broken image is reported in its card only


def test_schema_names_the_deciding_check_and_the_card_anchor():
    from pytest_modelaudit import schema

    first, second, third = ({"claim": "a", "status": "PASS"}, {"claim": "b", "status": "FAIL"},
                            {"claim": "c", "status": "PASS"})
    audit = {"status": "FAIL", "claim": "c", "checks": [first, second, third]}
    assert schema.deciding_check(audit) is third                              # the check with the audit's claim
    assert schema.deciding_check({**audit, "claim": "?"}) is second           # else the first of its status
    assert schema.deciding_check({**audit, "claim": None, "status": "ERROR"}) is third  # else the last
    assert schema.deciding_check({"status": "ERROR", "checks": []}) is None
    assert schema.audit_anchor({"id": "audit-x1", "nodeid": "t.py::t"}) == "audit-x1"
    assert schema.audit_anchor({"id": "1 bad", "nodeid": "t.py::t"}) == rs.anchor("t.py::t")
    assert [schema.normalise_status(s) for s in ("pass", " FAIL ", None, "odd")] == ["PASS", "FAIL", "ERROR", "ERROR"]


def test_templates_are_found_through_the_templates_package():
    """One mechanism, the same for the wheel (package data) and the editable install (package-dir)."""
    package = importlib.resources.files("pytest_modelaudit.templates")
    assert render.templates_dir() == Path(str(package))
    assert render.environment().loader.searchpath == [str(package)]
    for name in ("report.html.j2", "summary.html.j2", "audit_table.html.j2", "audit_card.html.j2",
                 "check.html.j2", "evidence_heatmap.html.j2", "evidence_ablation.html.j2",
                 "models.html.j2", "environment.html.j2", "report.css", "print.css"):
        assert package.joinpath(name).is_file(), name


# --------------------------------------------------------------------------- TCAV evidence

@pytest.fixture(scope="module")
def tcav_html():
    return render_html(rs.tcav_results())


def _svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, re.S)


def test_tcav_uses_its_own_template_with_header_facts(tcav_html):
    _no_render_failures(tcav_html)
    assert "Evidence of type ‘tcav’" not in tcav_html
    red = card(tcav_html, "test_hibany_depends_on_red")
    assert "evidence-tcav" in red
    for text in ("‘hibany’", "‘red’", "depends: the concept raises", "ridge classifier in closed form; unit-length CAV",
                 "none (flattened)", "target 60 · concept 60 · random 60 each (10 sets: random500_0",
                 "Holm-corrected over the claim&#39;s layers", "Min CAV accuracy", "min_effect=0.10",
                 "Output used</th><td>logit", "survives at α 0.05"):
        assert text in red, text
    assert rs.TCAV_SIGN.replace(">", "&gt;") in red  # verbatim (escaped)
    assert "10 concept run(s) (one CAV per random set) and 10 random-vs-random baseline run(s) per layer" in red
    # the per-layer metrics (tcav[conv3], p_adj[conv3], ...) live in the layer table, not the metrics table
    assert "p_adj[conv3]" not in red and 'class="metrics"' not in red
    assert red.count('alt="concept red image') == 4


def test_tcav_layer_table_and_plots(tcav_html):
    red = card(tcav_html, "test_hibany_depends_on_red")
    ev = next(a for a in rs.tcav_audits() if "red" in a["nodeid"])["checks"][0]["evidence"]
    conv3 = ev["layers"][2]
    assert len(_svgs(red)) == 3  # one strip plot per layer
    rows = re.findall(r'<tr class="[^"]*">\s*<td><strong>([^<]+)</strong></td>\s*<td>\s*<span class="badge badge-(\w+)"',
                      red.split('class="data tcav-layers"', 1)[1])
    assert rows == [("conv1", "inconclusive"), ("conv2", "pass"), ("conv3", "pass")]
    assert f"{conv3['concept_mean']:.2f} vs {conv3['baseline_mean']:.2f}" in red
    assert f"+{conv3['effect']:.2f}" in red and f"[{conv3['ci'][0]:.2f}, {conv3['ci'][1]:.2f}]" in red
    assert f'<td class="num sig">{conv3["p_adjusted"]:.1e}</td>' in red  # tiny p as 1.1e-07, bold
    assert f"{conv3['p_one_sample']:.1e}" in red and f"{conv3['p_student']:.1e}" in red
    assert "10 / 10" in red
    # the plot: concept and random rows, means printed at the right, a 0-1 axis
    svg = _svgs(red)[2]
    assert ">red</text>" in svg and ">random</text>" in svg and ">0.5</text>" in svg
    assert f">{conv3['concept_mean']:.2f}</text>" in svg and f">{conv3['baseline_mean']:.2f}</text>" in svg
    assert svg.count("<circle") == len(conv3["concept_scores"]) + len(conv3["random_scores"])


def test_tcav_layer_not_represented_is_greyed_with_reason(tcav_html):
    red = card(tcav_html, "test_hibany_depends_on_red")
    assert red.count("fig-unrepresented") == 1 and 'tr class="unrepresented"' in red
    assert "the concept&#39;s CAV accuracy 0.58 is below the minimum 0.70" in red
    assert "not represented (CAV accuracy 0.58 &lt; 0.70)" in red
    muted, colour = _svgs(red)[0], _svgs(red)[1]
    assert "#a3acb5" in muted and "#0b5cad" not in muted
    assert "#0b5cad" in colour


def test_tcav_independent_inconclusive_and_more_than(tcav_html):
    white = card(tcav_html, "test_messon_independent_of_white")
    assert "callout-inconclusive" in white and "absence of significance is not evidence of absence" in white
    assert "p below margin" in white and "independent: the concept does not drive" in white
    assert "margin=0.10" in white

    green = card(tcav_html, "test_sarunori_green_more_than_blue")
    assert "‘green’ compared with ‘blue’" in green and "concept vs ‘blue’" in green
    svg = _svgs(green)[0]
    assert [t for t in re.findall(r'text-anchor="end">([a-z]+)</text>', svg) if t != "mean"] == \
        ["green", "blue", "random"]
    assert "#c2410c" in svg  # the other concept's colour
    layer = next(a for a in rs.tcav_audits() if "green" in a["nodeid"])["checks"][0]["evidence"]["layers"][0]
    assert svg.count("<circle") == sum(len(layer[k]) for k in ("concept_scores", "other_scores", "random_scores"))


def test_tcav_session_correction_is_flagged(tcav_html):
    yellow = card(tcav_html, "test_hibany_depends_on_yellow")
    assert "callout-session" in yellow and "This pass would not survive session-wide Holm correction" in yellow
    assert "would not survive session-wide Holm correction" in yellow.split("kv facts", 2)[2]  # the fact row too
    table = tcav_html.split('<table class="audits">', 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr")[1:] if "yellow" in r)
    assert "would not survive session-wide Holm correction" in row
    red = card(tcav_html, "test_hibany_depends_on_red")
    assert "callout-session" not in red and "would not survive" not in red
    black = card(tcav_html, "test_messon_depends_on_black")  # a FAIL: the fact row says it, no callout
    assert "callout-session" not in black and "1: would not survive session-wide Holm correction" in black


def test_tcav_plot_is_deterministic_escaped_and_clamped():
    from pytest_modelaudit.report.draw import plots

    groups = [plots.Group("<b>c</b>", [0.2, 1.4, -0.3, float("nan"), None, "x", 0.5]),
              plots.Group("random", [], "random")]
    a, b = plots.strip_plot(groups, title="t<>"), plots.strip_plot(groups, title="t<>")
    assert a == b and a.startswith("<svg") and a.endswith("</svg>")
    assert "<b>" not in a and "&lt;b&gt;c&lt;/b&gt;" in a and "t&lt;&gt;" in a
    assert a.count("<circle") == 4 and ">no runs</text>" in a
    xs = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', a)]
    assert min(xs) == plots.LABEL_W and max(xs) == plots.LABEL_W + plots.PLOT_W  # clamped to the axis
    assert "href" not in a and "script" not in a and "style" not in a


def test_tcav_hostile_names_are_escaped():
    html = render_html(rs.hostile_results())
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;concept&#39;)&lt;/script&gt;" in html
    assert "</svg><script>" not in html and "<b>sign</b>" not in html
    srcs = re.findall(r'src="([^"]*)"', html)
    assert all(s.startswith("data:image/") for s in srcs)
    assert "https://evil.example/c.png" not in html and "javascript:alert(7)" not in html


def test_tcav_malformed_layers_do_not_break_the_card():
    ev = rs.tcav_audits()[0]["checks"][0]["evidence"]
    ev["layers"] = [{"layer": "conv9", "concept_scores": "bad", "ci": None, "p_adjusted": "?"}, "junk"]
    ev["alpha"], ev["n_random"], ev["concept_images"] = None, "?", ["data:image/png;base64,AAAA"]
    ctx = build_context(rs.base_results([rs.tcav_audits()[0] | {"checks": [
        {**rs.tcav_audits()[0]["checks"][0], "evidence": ev}]}]))
    view = ctx["audits"][0]["checks"][0]["evidence"]
    assert view["type"] == "tcav" and [L["layer"] for L in view["layers"]] == ["conv9", "?"]
    assert view["layers"][0]["p_adjusted"] == "—" and view["concept_images"] == []
    html = render_html(rs.base_results([rs.tcav_audits()[0]]))
    _no_render_failures(html)


def test_p_and_score_formatting():
    from pytest_modelaudit.report.formatting import fmt_interval, fmt_p, fmt_score

    assert fmt_p(3.2e-06) == "3.2e-06" and fmt_p(0.0496) == "0.0496" and fmt_p(0.05) == "0.05"
    assert fmt_p(1.0) == "1" and fmt_p(0.0) == "0" and fmt_p(None) == "—" and fmt_p(float("nan")) == "—"
    assert fmt_score(0.934) == "0.93" and fmt_score(0.45, signed=True) == "+0.45"
    assert fmt_score(-0.05, signed=True) == "−0.05" and fmt_score(0.001, signed=True) == "±0.00"
    assert fmt_interval([0.38, 0.52]) == "[0.38, 0.52]" and fmt_interval(None) == "—"


def test_tcav_pdf_renders(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReportWarning)
        files = write_report(rs.base_results([rs.tcav_audits()[0]]), tmp_path)
    assert files.pdf_error is None and files.pdf_path.read_bytes().startswith(b"%PDF")


def test_heatmap_card_shows_methods_side_by_side_and_the_honesty_checks():
    results = rs.base_results([rs.audit_snow_fail()])
    html = render_html(results)
    _no_render_failures(html)
    grid = html[html.index('class="method-grid"'):html.index("</table>", html.index('class="method-grid"'))]
    assert ">Grad-CAM <span" in grid and ">Occlusion</th>" in grid and ">Integrated Gradients</th>" in grid
    assert grid.count("<tr") == 1 + 6 and grid.count("<img") == 6 * 4  # image + audited + two companions
    section = html[html.index('class="honesty"'):html.index("</section>", html.index('class="honesty"'))]
    for text in ("Model randomisation", "Class sensitivity", "Faithfulness", "Stability", ">undetermined<",
                 ">failed<", ">passed<", ">stable<", "weights re-initialised", "class ‘fox’",
                 "Deletion (fill: black)", "Insertion (fill: black)", "a failed check makes the audit INCONCLUSIVE"):
        assert text in section, text
    assert section.count("<polyline") == 6  # three methods x (deletion, insertion)
    assert section.count("Grad-CAM (audited)") == 1 and section.count("<tr>") >= 9  # 3 methods x 3 fills


def test_a_stability_check_not_run_says_why():
    results = rs.base_results([rs.audit_snow_fail()])
    ev = results["audits"][0]["checks"][0]["evidence"]
    ev["stability"] = None
    ev["stability_skipped"] = "the maps failed their honesty checks, so noise could not change the verdict"
    html = render_html(results)
    _no_render_failures(html)
    section = html[html.index('class="honesty"'):html.index("</section>", html.index('class="honesty"'))]
    assert 'badge-skipped">not run<' in section and "noise could not change the verdict" in section
    assert ">stable<" not in section and ">unstable<" not in section


def test_a_broken_honesty_block_is_a_note_not_a_lost_card():
    results = rs.base_results([rs.audit_snow_fail()])
    ev = results["audits"][0]["checks"][0]["evidence"]
    ev["honesty"]["checks"] = "garbage"
    ev["curves"] = {"gradcam": {"fractions": "x", "deletion": 3}}
    ev["stability"] = {"spread": None}
    html = render_html(results)
    assert 'class="method-grid"' in html and "Traceback" not in html
