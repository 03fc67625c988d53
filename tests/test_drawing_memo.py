"""Pictures kept between reports (report/draw/memo.py): the same evidence gives the same page without
redrawing, a changed drawing input or drawing code redraws, and a bad memo file never breaks a report."""
import json
import re

import report_samples as rs
from pytest_modelaudit.report.draw import memo
from pytest_modelaudit.report.write import write_report

IMAGES = re.compile(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+")


def _page(folder, results, drawings):
    return write_report(results, folder, pdf=False, drawings=drawings).html_path.read_text()


def test_a_second_report_of_the_same_evidence_reads_its_pictures_from_the_memo(tmp_path):
    results = rs.sample_results()
    fresh = IMAGES.findall(_page(tmp_path / "a", results, None))
    first = IMAGES.findall(_page(tmp_path / "b", results, tmp_path / "memo"))
    stored = json.loads((tmp_path / "memo" / memo.FILE_NAME).read_text())
    assert fresh == first and stored["drawn"]

    # Plant a marker in every stored picture: a report that read the memo shows the marker, proving no redraw.
    marker = "data:image/png;base64,TUVNTw=="
    for key, value in stored["drawn"].items():
        stored["drawn"][key] = [marker, value[1]] if isinstance(value, list) else marker
    (tmp_path / "memo" / memo.FILE_NAME).write_text(json.dumps(stored))
    again = _page(tmp_path / "c", results, tmp_path / "memo")
    assert marker in again and len(IMAGES.findall(again)) == len(fresh)


def test_other_evidence_or_other_drawing_code_is_drawn_afresh(tmp_path):
    results = rs.sample_results()
    _page(tmp_path / "a", results, tmp_path / "memo")
    path = tmp_path / "memo" / memo.FILE_NAME
    stored = json.loads(path.read_text())
    marker = "data:image/png;base64,TUVNTw=="
    stored["drawn"] = {k: ([marker, v[1]] if isinstance(v, list) else marker) for k, v in stored["drawn"].items()}
    stored["code"] = "another version of the drawing code"
    path.write_text(json.dumps(stored))
    assert marker not in _page(tmp_path / "b", results, tmp_path / "memo")
    assert json.loads(path.read_text())["code"] != "another version of the drawing code"

    other = rs.sample_results()
    other["audits"] = [rs.audit_snow_fail(seed=7)]
    before = set(json.loads(path.read_text())["drawn"])
    _page(tmp_path / "c", other, tmp_path / "memo")
    after = set(json.loads(path.read_text())["drawn"])
    assert after and after != before  # only this report's pictures are kept


def test_a_broken_or_unwritable_memo_still_gives_the_report(tmp_path):
    results = rs.sample_results()
    fresh = IMAGES.findall(_page(tmp_path / "a", results, None))
    (tmp_path / "memo").mkdir()
    (tmp_path / "memo" / memo.FILE_NAME).write_text("{not json")
    assert IMAGES.findall(_page(tmp_path / "b", results, tmp_path / "memo")) == fresh
    blocked = tmp_path / "file"
    blocked.write_text("a file where the memo folder should be")
    assert IMAGES.findall(_page(tmp_path / "c", results, blocked)) == fresh
