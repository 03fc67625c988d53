"""CI outputs (JUnit properties, the terminal section, summary.md) and faults (unwritable report folder,
Ctrl-C, GPU memory growth), through real pytest runs of the square-detector suite."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

import model_suites
import report_samples as rs
from pytest_modelaudit.report import write as report_write
from pytest_modelaudit.report import write_report
from pytest_modelaudit.report.summary_md import summary_markdown

REPORT = "model-audit-report"


def _literal(text: str) -> str:
    """``text`` as an fnmatch pattern that matches it literally (brackets are fnmatch character classes)."""
    return re.sub(r"([\[\]])", r"[\1]", text)


@pytest.fixture
def suite(pytester, request):
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=model_suites.AUDITS)
    return pytester


def _properties(xml_path) -> dict[str, dict[str, str]]:
    cases = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        pairs = [(p.get("name"), p.get("value")) for p in case.iter("property")]
        assert len(pairs) == len(dict(pairs)), pairs  # each property once
        cases[case.get("name")] = (float(case.get("time")), dict(pairs))
    return cases


def test_junit_terminal_and_summary_md_of_one_run(suite):
    result = suite.runpytest("--model-audit", "--model-audit-no-pdf", "--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=6)
    data = json.loads((suite.path / REPORT / "results.json").read_text())
    audits = {a["nodeid"].split("::")[1]: a for a in data["audits"]}

    # JUnit: verdict, deciding measurement, metrics, model and report link as properties; `time` stays the duration.
    cases = _properties(suite.path / "junit.xml")
    time_s, props = cases["test_square_drives[shortcut]"]
    record = audits["test_square_drives[shortcut]"]
    assert props["model_audit.status"] == "FAIL" and props["model_audit.severity"] == "critical"
    assert props["model_audit.title"] == "The square drives 'square' [shortcut]"
    assert props["model_audit.claim"] == record["claim"]
    assert props["model_audit.metric"] == "share" and props["model_audit.threshold"] == ">= 0.9"
    assert float(props["model_audit.measured"]) == pytest.approx(record["checks"][0]["measured"], abs=1e-6)
    assert float(props["model_audit.metrics.share"]) == pytest.approx(record["metrics"]["share"], abs=1e-6)
    assert props["model_audit.model"] == "square_shortcut"
    assert props["model_audit.model_fingerprint"] == record["models"][0] and record["models"][0] in data["models"]
    assert props["model_audit.report"].endswith(f"{REPORT}/index.html#{record['id']}")
    assert 0 <= time_s < 120 and time_s != float(props["model_audit.measured"])
    assert cases["test_square_drives[clean]"][1]["model_audit.status"] == "PASS"
    assert cases["test_typo_in_class[clean]"][1]["model_audit.status"] == "ERROR"
    assert cases["test_ordinary_unit_test"][1] == {}

    # Terminal: the non-passing audits, then every file of the report.
    result.stdout.fnmatch_lines([
        "*- model audit -*",
        "2 PASS, 2 FAIL, 2 INCONCLUSIVE, 2 ERROR (8 audits)",
        _literal("  FAIL         test_audits.py::test_removing_the_square_drops_the_score[shortcut]: ") + "*",
        _literal("  FAIL         test_audits.py::test_square_drives[shortcut]: ") + "*",
        _literal("  INCONCLUSIVE test_audits.py::test_no_evidence[clean]: ") + "* (why: every Grad-CAM map is all zero*",
        _literal("  INCONCLUSIVE test_audits.py::test_no_evidence[shortcut]: ") + "*",
        _literal("  ERROR        test_audits.py::test_typo_in_class[clean]: ") + "ClassNotFoundError*",
        _literal("  ERROR        test_audits.py::test_typo_in_class[shortcut]: ") + "ClassNotFoundError*",
        f"report: file://*/{REPORT}/index.html",
        f"json:   */{REPORT}/results.json",
        f"summary (Markdown, for a pull request): */{REPORT}/summary.md",
        f"model comparison: file://*/{REPORT}/index.html#comparison (4 audits x 2 models)",
    ])
    assert "PASS         test_audits.py" not in result.stdout.str()

    # summary.md: counts, the non-passing table, the matrix, where the report is.
    md = (suite.path / REPORT / "summary.md").read_text()
    lines = md.splitlines()
    assert lines[0] == "## Model audit: 6 of 8 audits did not pass"
    assert "**2 FAIL** · **2 INCONCLUSIVE** · **2 ERROR** · 2 PASS" in lines
    failing = [ln for ln in lines if re.match(r"\| \*\*(FAIL|INCONCLUSIVE|ERROR)\*\* \|", ln)]
    assert [ln.split(" | ")[0] for ln in failing] == ["| **FAIL**"] * 2 + ["| **INCONCLUSIVE**"] * 2 + ["| **ERROR**"] * 2
    assert failing[1] == (f"| **FAIL** | [The square drives 'square' \\[shortcut\\]](index.html#{record['id']}) "
                          f"| {record['claim']} | share = 0 | ≥ 0.90 |")
    assert "(why: every Grad-CAM map is all zero" in md
    assert "| Audit | square\\_clean | square\\_shortcut |" in lines
    row = next(ln for ln in lines if ln.startswith("| The square drives 'square' |"))
    clean, shortcut = (audits[f"test_square_drives[{m}]"]["id"] for m in ("clean", "shortcut"))
    assert row == (f"| The square drives 'square' | [PASS share 1.00](index.html#{clean}) "
                   f"| [**FAIL** share 0](index.html#{shortcut}) |")
    assert "| **passed** | 2 of 4 | 0 of 4 |" in lines
    assert lines[-1].startswith("Full report: [index.html](index.html) · [results.json](results.json) in `")
    assert "report.pdf" not in md  # --model-audit-no-pdf: no link to a file that is not there


def test_summary_md_escapes_user_text(tmp_path):
    res = rs.base_results([rs.audit_snow_fail()])
    res["audits"][0]["title"] = "Snow | sky <b>bold</b> `code`\nsecond line"
    files = write_report(res, tmp_path, pdf=False)
    row = next(ln for ln in files.summary_path.read_text().splitlines() if ln.startswith("| **FAIL**"))
    assert "Snow \\| sky \\<b\\>bold\\</b\\> \\`code\\` second line" in row
    assert row.count(" | ") == 4  # five cells: the pipe in the title did not add one
    res["audits"][0]["claim"] = "x" * 1000
    row = next(ln for ln in summary_markdown(res).splitlines() if ln.startswith("| **FAIL**"))
    assert "x" * 239 + "…" in row and "x" * 240 not in row  # long text is cut; the report has all of it


def test_unwritable_report_folder_is_said_and_audits_still_run(suite):
    (suite.path / "blocked").write_text("a regular file where a folder is needed")
    result = suite.runpytest("--model-audit", "--model-audit-report=blocked/report", "-k", "square_drives and clean",
                             "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.OK  # test outcomes decide the exit status, not the report
    result.stdout.fnmatch_lines([
        "model-audit: WARNING: the report cannot be written to */blocked/report: */blocked (on the way to */blocked/report) "
        "is a file, not a folder",
        "*- model audit -*",
        "1 PASS (1 audits)",
        "report NOT written: ReportWriteError: cannot create report folder */blocked/report: Not a directory",
    ])
    result.stdout.fnmatch_lines(["*UserWarning: model-audit: the report could not be written*blocked/report*"])
    assert (suite.path / "blocked").read_text() == "a regular file where a folder is needed"
    # a failing audit's message says there is no report instead of linking into one that does not exist
    result = suite.runpytest("--model-audit", "--model-audit-report=blocked/report", "-k", "square_drives and shortcut",
                             "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*evidence: none: the report cannot be written to */blocked/report (*is a file, not a "
                                 "folder)*"])
    assert "blocked/report/index.html#" not in result.stdout.str()


INTERRUPTED = '''
def test_a_finishes(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.5, region_name="square")


def test_b_is_interrupted(audit, detector, squares):
    audit.gradcam(detector, squares, "square")
    raise KeyboardInterrupt  # what Ctrl-C does in the middle of an audit


def test_c_never_runs(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.5)
'''


def test_ctrl_c_writes_a_whole_report_marked_interrupted(pytester, request):
    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=INTERRUPTED)
    old = pytester.path / REPORT
    old.mkdir()
    for name in ("results.json", "index.html", "summary.md"):
        (old / name).write_text("report of an earlier run")
    result = pytester.runpytest("--model-audit", "--model-audit-no-pdf", "-p", "no:cacheprovider", "-k", "clean",
                                no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*- model audit -*", "1 PASS, 1 ERROR (2 audits)",
                                 _literal("  ERROR        test_audits.py::test_b_is_interrupted[clean]: ")
                                 + "the run was interrupted*",
                                 "run interrupted: the report covers only the audits that finished*"])
    data = json.loads((old / "results.json").read_text())
    assert data["run"]["interrupted"] is True
    assert {a["nodeid"].split("::")[1]: a["status"] for a in data["audits"]} == {
        "test_a_finishes[clean]": "PASS", "test_b_is_interrupted[clean]": "ERROR"}
    html = (old / "index.html").read_text()
    assert "Interrupted run: it was stopped before every audit finished" in html
    assert (old / "summary.md").read_text().startswith("## Model audit: INTERRUPTED")
    assert sorted(p.name for p in old.iterdir()) == ["index.html", "results.json", "summary.md"]  # no temp files


def test_ctrl_c_while_the_report_renders_keeps_the_previous_report(tmp_path, monkeypatch):
    first = write_report(rs.base_results([rs.audit_object_pass()]), tmp_path, pdf=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert set(before) == {"results.json", "index.html", "summary.md"} and first.summary_path.is_file()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_write, "render_context", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_report(rs.sample_results(), tmp_path, pdf=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # whole, old, and no temp files


def test_a_render_error_still_writes_results_json(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("template bug")

    monkeypatch.setattr(report_write, "render_context", broken)
    with pytest.raises(RuntimeError, match="template bug"):
        write_report(rs.sample_results(), tmp_path, pdf=False)
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    assert json.loads((tmp_path / "results.json").read_text()) == rs.sample_results()


SECOND_PRESS = {  # a conftest addition: the impatient second Ctrl-C, at two moments it lands in practice
    "while pytest handles the first": (
        "import os, signal\n\n\n"
        "def pytest_keyboard_interrupt(excinfo):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"),
    "while the report renders": (
        "import os, signal\n"
        "from pytest_modelaudit.report import write as _write\n"
        "_render = _write.render_context\n\n\n"
        "def _pressed_again(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return _render(*args, **kwargs)\n\n\n"
        "_write.render_context = _pressed_again\n"),
}
FIRST_PRESS = '''
import os
import signal


def test_a_finishes(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.5, region_name="square")


def test_b_is_stopped(audit, detector, squares):
    audit.gradcam(detector, squares, "square")
    os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C, in the middle of an audit
'''


@pytest.mark.parametrize("moment", sorted(SECOND_PRESS))
def test_a_second_ctrl_c_lets_the_report_of_the_finished_audits_be_written(pytester, request, moment):
    import subprocess
    import sys

    pytester.makeconftest(model_suites.conftest(request.path.parent) + "\n" + SECOND_PRESS[moment])
    pytester.makepyfile(test_audits=FIRST_PRESS)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--model-audit", "--model-audit-no-pdf", "-p",
                           "no:cacheprovider", "-k", "clean", "-q"], cwd=pytester.path, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "model-audit: stopping; writing the report of the audits that finished" in out
    assert "Traceback" not in out and "run interrupted: the report covers only the audits that finished" in out
    data = json.loads((pytester.path / REPORT / "results.json").read_text())
    assert data["run"]["interrupted"] is True
    assert {a["nodeid"].split("::")[1]: a["status"] for a in data["audits"]} == {
        "test_a_finishes[clean]": "PASS", "test_b_is_stopped[clean]": "ERROR"}
    assert (pytester.path / REPORT / "summary.md").read_text().startswith("## Model audit: INTERRUPTED")
    assert "Interrupted run" in (pytester.path / REPORT / "index.html").read_text()


GPU_CHECK = '''
import os, sys

def test_env():
    print("GROWTH=" + os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH", "unset"))
    print("TF_LOADED=" + str("tensorflow" in sys.modules))
'''


@pytest.mark.parametrize("ini,tf_in_conftest,expected", [
    ("model_audit_gpu_memory_growth = true", False, ["GROWTH=true", "TF_LOADED=False"]),
    ("model_audit_gpu_memory_growth = true", True, ["GROWTH=true", "TF_LOADED=True"]),
    ("", False, ["GROWTH=unset", "TF_LOADED=False"]),
])
def test_gpu_memory_growth_is_set_before_tensorflow_starts(pytester, monkeypatch, ini, tf_in_conftest, expected):
    monkeypatch.delenv("TF_FORCE_GPU_ALLOW_GROWTH", raising=False)
    pytester.makeini(f"[pytest]\n{ini}\n")
    if tf_in_conftest:  # TensorFlow already imported when the plugin is configured: growth is set on the devices
        pytester.makeconftest("import tensorflow\n")
    pytester.makepyfile(GPU_CHECK)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "-W", "error::pytest.PytestConfigWarning")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*{line}*" for line in expected])


def test_every_checks_metrics_keep_their_own_name_in_the_summary():
    from pytest_modelaudit.core.checks.verdicts import Status
    from pytest_modelaudit.plugin.records import audit_json

    checks = [{"kind": "share", "status": "PASS", "claim": f"c{i}", "threshold": None, "metrics": {"lift": float(i)}}
              for i in range(3)]
    record = audit_json(nodeid="t.py::t", anchor="a", title="t", severity="major", status=Status.PASS, message="",
                        checks=checks, duration=0.1)
    assert record["metrics"] == {"lift": 0.0, "share.lift": 1.0, "share#3.lift": 2.0}


def test_a_failing_audits_output_holds_no_tensorflow_log_line(suite, monkeypatch):
    """TensorFlow is first imported inside an audit: its start-up lines and retracing notes would land in the
    failure report. Unless the user chose a TF_CPP_MIN_LOG_LEVEL, none may."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    result = suite.runpytest_subprocess("--model-audit", "--model-audit-no-pdf", "--model-audit-report=out",
                                        "-k", "removing or square_drives", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert "FAIL: " in out  # the shortcut detector fails its audits: there is failure output to read
    for marker in ("oneDNN", "cuda", "absl::InitializeLog", "WARNING:tensorflow", "tf.function retracing",
                   "I0000", "E0000", "W0000"):
        assert marker not in out, marker


def test_warnings_as_errors_and_a_pdf_failure_still_end_with_the_summary(suite, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError: no PDF
    result = suite.runpytest("--model-audit", "-W", "error", "-k", "square_drives and clean", "-p", "no:cacheprovider",
                             "--model-audit-report=out")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.stdout.fnmatch_lines(["*- model audit -*", "1 PASS (1 audits)", "*pdf:    not written (*"])
    assert "the report could not be written" not in result.stdout.str()
    assert sorted(p.name for p in (suite.path / "out").iterdir()) == ["index.html", "results.json", "summary.md"]


SLOW_AUDITS = '''
import time


def test_a_finishes(audit, detector, squares):
    audit.gradcam(detector, squares, "square").expect_share(squares.masks, at_least=0.5, region_name="square")


def test_b_runs_long(audit, detector, squares):
    audit.gradcam(detector, squares, "square")
    open("started", "w").close()
    for _ in range(600):  # bounded: a run that misses the signal ends after a minute
        time.sleep(0.1)
'''


def test_sigterm_writes_the_report_of_the_audits_that_finished_marked_interrupted(pytester, request):
    import signal
    import subprocess
    import sys
    import time

    pytester.makeconftest(model_suites.conftest(request.path.parent))
    pytester.makepyfile(test_audits=SLOW_AUDITS)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--model-audit", "--model-audit-no-pdf", "-p",
                             "no:cacheprovider", "-k", "clean", "-q"], cwd=pytester.path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (pytester.path / "started").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "run interrupted: the report covers only the audits that finished" in out
    data = json.loads((pytester.path / REPORT / "results.json").read_text())
    assert data["run"]["interrupted"] is True
    assert {a["nodeid"].split("::")[1]: a["status"] for a in data["audits"]} == {
        "test_a_finishes[clean]": "PASS", "test_b_runs_long[clean]": "ERROR"}
    assert (pytester.path / REPORT / "summary.md").read_text().startswith("## Model audit: INTERRUPTED")
