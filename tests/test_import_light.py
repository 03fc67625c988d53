"""pytest imports the plugin on every run: it must not pull in TensorFlow, Keras, matplotlib or WeasyPrint."""
import subprocess
import sys

HEAVY = ("tensorflow", "keras", "matplotlib", "weasyprint")


def test_importing_the_plugin_is_light():
    code = ("import sys, pytest_modelaudit, pytest_modelaudit.plugin.hooks, pytest_modelaudit.report; "
            f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_a_plain_pytest_run_does_not_import_tensorflow(tmp_path):
    (tmp_path / "test_plain.py").write_text("import sys\n\ndef test_x():\n    assert 'tensorflow' not in sys.modules\n")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
