"""The summary PDF (default) and the full one: what each holds, and that links never name a machine path."""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

import report_samples as rs
from pytest_modelaudit.report import render_html, write_report


def _card_ids(html: str) -> set[str]:
    return set(re.findall(r'<article class="card[^"]*" id="([^"]+)"', html))


@pytest.fixture(scope="module")
def sample():
    return rs.sample_results()


def test_summary_pdf_holds_the_cards_of_what_did_not_pass_only(sample):
    not_passed = {rs.anchor(a["nodeid"]) for a in sample["audits"] if a["status"] != "PASS"}
    passed = {rs.anchor(a["nodeid"]) for a in sample["audits"] if a["status"] == "PASS"}
    assert not_passed and passed
    brief = render_html(sample, for_print=True, pdf_mode="summary")
    full = render_html(sample, for_print=True, pdf_mode="full")
    screen = render_html(sample)
    assert {c.split("-")[0] for c in _card_ids(brief)} and _card_ids(brief) == not_passed
    assert _card_ids(full) == not_passed | passed == _card_ids(screen)
    # every audit is still in the table, with its claim; a pass is not linked to a card this PDF lacks
    for a in sample["audits"]:
        assert str(escape(a["title"])) in brief
    for anchor in passed:
        assert f'href="#{anchor}"' not in brief and f'href="#{anchor}"' in full
    assert "2 passed audits are listed above" in brief and "passed audits are listed above" not in full
    assert "--model-audit-pdf=full" in brief


def test_summary_pdf_has_fewer_pages_than_the_full_one(tmp_path, sample):
    import weasyprint

    def pages(mode: str) -> int:
        files = write_report(sample, tmp_path / mode, pdf_mode=mode)
        assert files.pdf_error is None
        html = render_html(sample, for_print=True, pdf_mode=mode)
        return len(weasyprint.HTML(string=html).render().pages)

    brief, full = pages("summary"), pages("full")
    assert brief < full, (brief, full)


def test_bad_pdf_mode_is_refused(sample):
    with pytest.raises(ValueError, match="pdf_mode must be one of summary, full"):
        render_html(sample, for_print=True, pdf_mode="short")


@pytest.mark.parametrize("args, ini, shows", [
    ([], None, "pdf=summary"),
    (["--model-audit-pdf=full"], None, "pdf=full"),
    ([], "full", "pdf=full"),
    ([], "false", "pdf=off"),
    (["--model-audit-no-pdf"], "full", "pdf=off"),
])
def test_pdf_option_and_ini_twin(pytester, args, ini, shows):
    if ini is not None:
        pytester.makeini(f"[pytest]\nmodel_audit_pdf = {ini}\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--model-audit", *args)
    result.stdout.fnmatch_lines([f"*model-audit: on, report=*, {shows},*"])


def test_bad_pdf_ini_is_a_usage_error_naming_it(pytester):
    pytester.makeini("[pytest]\nmodel_audit_pdf = short\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--model-audit")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--model-audit-pdf / model_audit_pdf must be one of summary, full*'short'*"])


def test_messages_and_report_name_the_report_folder_relatively(pytester):
    pytester.makepyfile(
        "import pytest\n"
        "from pytest_modelaudit import Status\n"
        "from pytest_modelaudit.core.checks.verdicts import Threshold, decide\n\n"
        "@pytest.mark.model_audit\n"
        "def test_claim(audit):\n"
        "    audit.conclude(decide('share', 'a claim that fails', Threshold.of('share', 0.1, None), 0.5, {}))\n")
    result = pytester.runpytest("--model-audit", "--model-audit-report=out/rep", "--model-audit-no-pdf")
    result.stdout.fnmatch_lines(["*evidence: out/rep/index.html#audit-*"])
    text = (pytester.path / "out" / "rep" / "index.html").read_text()
    assert '<th scope="row">Report folder</th><td>out/rep</td>' in text
    assert "Evidence cache</th><td>.pytest_cache/d/model_audit:" in text
