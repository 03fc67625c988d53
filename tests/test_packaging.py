"""The built wheel ships the templates and the pytest11 entry point, and renders a report when installed."""
import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path_factory.mktemp("build"))
    (whl,) = out.glob("pytest_modelaudit-*.whl")
    return whl


def test_wheel_contents(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    templates = [n for n in names if n.startswith("pytest_modelaudit/templates/")]
    assert "pytest_modelaudit/templates/report.html.j2" in templates
    assert any(n.endswith(".css") for n in templates)
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "templates").iterdir() if p.suffix in (".j2", ".css")}
    assert {n.replace("pytest_modelaudit/", "", 1) for n in templates if not n.endswith(".py")} == sources
    # every package of the source tree is in the wheel (a new folder missing from pyproject's list fails here)
    packages = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "pytest_modelaudit").rglob("__init__.py")}
    assert packages <= {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    assert "pytest_modelaudit/py.typed" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "model_audit = pytest_modelaudit.plugin.hooks" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_renders_a_report(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # dependencies come from the project's environment; the package itself only from the wheel
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    code = f"""
import sys, pytest_modelaudit
assert pytest_modelaudit.__file__.startswith({str(site)!r}), pytest_modelaudit.__file__
sys.path.append({str(ROOT / "tests")!r})
from report_samples import sample_results
from pytest_modelaudit.report import write_report
files = write_report(sample_results(), "out", pdf=False)
print(files.html_path)
"""
    run = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=work)
    assert run.returncode == 0, run.stderr
    html = (work / "out" / "index.html").read_text()
    assert "<html" in html.lower() and json.loads((work / "out" / "results.json").read_text())["schema_version"] == 1
    # and pytest finds the plugin through the entry point
    (work / "test_x.py").write_text("def test_x():\n    pass\n")
    run = subprocess.run([str(py), "-m", "pytest", "-p", "no:cacheprovider", "test_x.py"], capture_output=True, text=True, cwd=work)
    assert run.returncode == 0 and "model-audit: off" in run.stdout, run.stdout + run.stderr
