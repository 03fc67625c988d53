"""Options in effect for a run: command line first, then ini, then defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..paths import shown_path
from ..schema import anchor_for_nodeid
from .candidates import model_files

INCONCLUSIVE_POLICIES = ("fail", "skip")
MISSING_BASELINE_POLICIES = ("fail", "warn", "create")
HONESTY_POLICIES = ("inconclusive", "report", "off")
PDF_MODES = ("summary", "full")
COMPANION_MODES = ("on", "off")


@dataclass(frozen=True)
class Settings:
    enabled: bool
    report_dir: Path
    pdf: bool
    seed: int
    inconclusive: str
    concepts: Path | None = None
    random_prefix: str = "random500_"
    honesty: str = "inconclusive"
    companions: bool = True  # the other methods' maps and curves beside each heatmap audit's own
    gpu_memory_growth: bool = False
    models: tuple[Path, ...] = ()
    baseline_dir: Path | None = None
    update_baselines: bool = False
    allow_ci_update: bool = False
    prune_baselines: bool = False
    missing_baseline: str = "fail"
    cache_dir: Path | None = None  # the persistent cache; None: memory only, cache_note says why
    cache_note: str = ""
    report_problem: str = ""  # why the report folder cannot be written ("" when it can)
    pdf_mode: str = "summary"  # "summary": the audit table and the cards of what did not pass; "full": every card
    report_link: str = ""  # the report folder as messages name it: relative to where pytest ran when inside it

    def anchor(self, nodeid: str) -> str:
        return anchor_for_nodeid(nodeid)

    def evidence_link(self, nodeid: str) -> str:
        if self.report_problem:  # no link into a report that will not exist
            return f"none: the report cannot be written to {self.report_dir} ({self.report_problem})"
        return f"{self.report_link or self.report_dir}/index.html#{self.anchor(nodeid)}"

    def header(self) -> str:
        if not self.enabled:
            return "model-audit: off (run pytest --model-audit to run audits)"
        baselines = ""
        if self.baseline_dir is not None:
            flags = "".join(f", {f}" for f, on in (("update", self.update_baselines), ("prune", self.prune_baselines)) if on)
            baselines = f", baselines={self.baseline_dir} (missing={self.missing_baseline}{flags})"
        cache = f", cache={self.cache_dir}" if self.cache_dir is not None else f", cache=off ({self.cache_note})"
        return (f"model-audit: on, report={self.report_dir}, pdf={self.pdf_mode if self.pdf else 'off'}, "
                f"seed={self.seed}, inconclusive={self.inconclusive}, honesty={self.honesty}"
                f"{'' if self.companions else ', companions=off'}{baselines}{cache}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def resolve(config: pytest.Config) -> Settings:
    """Read --model-audit-* options and their ini twins; bad values are a usage error naming the option."""
    enabled = config.getoption("model_audit")
    if enabled is None:
        enabled = _bool(config.getini("model_audit"))
    report = config.getoption("model_audit_report") or config.getini("model_audit_report") or "model-audit-report"
    report_dir = Path(report)
    if not report_dir.is_absolute():
        report_dir = Path(config.invocation_params.dir) / report_dir
    pdf, pdf_mode = _pdf_option(config)
    raw_seed = config.getoption("model_audit_seed")
    if raw_seed is None:
        raw_seed = config.getini("model_audit_seed")
    try:
        seed = int(str(raw_seed).strip())
        if seed < 0:
            raise ValueError
    except ValueError:
        raise pytest.UsageError(f"--model-audit-seed / model_audit_seed must be a non-negative integer, got {raw_seed!r}") from None
    inconclusive = (config.getoption("model_audit_inconclusive") or config.getini("model_audit_inconclusive") or "fail").strip()
    if inconclusive not in INCONCLUSIVE_POLICIES:
        raise pytest.UsageError(
            f"--model-audit-inconclusive / model_audit_inconclusive must be one of {', '.join(INCONCLUSIVE_POLICIES)}, got {inconclusive!r}"
        )
    concepts_dir = path_option(config, "model_audit_concepts")
    prefix = (config.getini("model_audit_random_prefix") or "random500_").strip()
    honesty = (config.getoption("model_audit_honesty") or config.getini("model_audit_honesty") or "inconclusive").strip()
    if honesty not in HONESTY_POLICIES:
        raise pytest.UsageError(
            f"--model-audit-honesty / model_audit_honesty must be one of {', '.join(HONESTY_POLICIES)}, got {honesty!r}"
        )
    companions = (config.getoption("model_audit_companions") or config.getini("model_audit_companions") or "on")
    companions = companions.strip().lower()
    if companions not in COMPANION_MODES:
        raise pytest.UsageError(
            f"--model-audit-companions / model_audit_companions must be one of {', '.join(COMPANION_MODES)}, "
            f"got {companions!r}")
    growth = _bool(config.getini("model_audit_gpu_memory_growth"))
    models = model_files(config, must_exist=bool(enabled))
    problem = ""
    if enabled:
        from ..report.write import report_dir_problem

        problem = report_dir_problem(report_dir.resolve()) or ""
    return Settings(bool(enabled), report_dir.resolve(), pdf, seed, inconclusive, concepts_dir, prefix, honesty=honesty,
                    companions=companions == "on", gpu_memory_growth=growth, models=models,
                    **_baseline_options(config, bool(enabled)), **_cache_options(config, bool(enabled)),
                    report_problem=problem, pdf_mode=pdf_mode,
                    report_link=shown_path(report_dir, config.invocation_params.dir))


def _pdf_option(config: pytest.Config) -> tuple[bool, str]:
    """--model-audit-pdf=summary|full, --model-audit-no-pdf and ini model_audit_pdf (summary, full or false)."""
    if config.getoption("model_audit_no_pdf"):
        return False, "summary"
    cli = config.getoption("model_audit_pdf")
    raw = str(cli if cli is not None else config.getini("model_audit_pdf")).strip().lower()
    if raw in PDF_MODES:
        return True, raw
    if raw in ("1", "true", "yes", "on"):
        return True, "summary"
    if raw in ("0", "false", "no", "off"):
        return False, "summary"
    raise pytest.UsageError(f"--model-audit-pdf / model_audit_pdf must be one of {', '.join(PDF_MODES)} "
                            f"(ini also false to write no PDF), got {raw!r}")


def path_option(config: pytest.Config, name: str) -> Path | None:
    """A folder option: the command line's relative to where pytest was invoked, the ini twin's to the rootdir."""
    cli = config.getoption(name)
    raw = cli or config.getini(name) or None
    if not raw:
        return None
    base = config.invocation_params.dir if cli else config.rootpath
    return (Path(base) / Path(raw).expanduser()).resolve()


def _cache_options(config: pytest.Config, enabled: bool) -> dict[str, Any]:
    """--model-audit-cache-dir / --model-audit-no-cache and ini twins; default: model_audit/ in pytest's cache."""
    if not enabled:
        return {}
    if config.getoption("model_audit_no_cache"):
        return {"cache_note": "--model-audit-no-cache"}
    if not _bool(config.getini("model_audit_cache")):
        return {"cache_note": "ini model_audit_cache = false"}
    folder = path_option(config, "model_audit_cache_dir")
    if folder is not None:
        return {"cache_dir": folder}
    cache = getattr(config, "cache", None)
    if cache is None:
        return {"cache_note": "pytest's cacheprovider is disabled; set --model-audit-cache-dir"}
    try:
        return {"cache_dir": Path(cache.mkdir("model_audit"))}
    except OSError:  # unwritable: configure_cache says so, once, and the audits run uncached
        return {"cache_dir": (Path(config.rootpath) / config.getini("cache_dir") / "d" / "model_audit").resolve()}


def _baseline_options(config: pytest.Config, enabled: bool) -> dict[str, Any]:
    """--model-audit-baseline-dir and friends; updating is refused on CI unless explicitly allowed."""
    folder = path_option(config, "model_audit_baseline_dir")
    flags = {}
    for name in ("update_baselines", "allow_ci_update", "prune_baselines"):
        flags[name] = bool(config.getoption(f"model_audit_{name}")) or _bool(config.getini(f"model_audit_{name}"))
    missing = (config.getoption("model_audit_missing_baseline") or config.getini("model_audit_missing_baseline")
               or "fail").strip()
    if missing not in MISSING_BASELINE_POLICIES:
        raise pytest.UsageError(f"--model-audit-missing-baseline / model_audit_missing_baseline must be one of "
                                f"{', '.join(MISSING_BASELINE_POLICIES)}, got {missing!r}")
    if enabled and folder is None and (flags["update_baselines"] or flags["prune_baselines"]):
        which = "--model-audit-update-baselines" if flags["update_baselines"] else "--model-audit-prune-baselines"
        raise pytest.UsageError(f"{which} needs a baseline folder: pass --model-audit-baseline-dir=DIR "
                                "(or set ini model_audit_baseline_dir)")
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")
    if enabled and flags["update_baselines"] and ci and not flags["allow_ci_update"]:
        raise pytest.UsageError(
            f"--model-audit-update-baselines is refused on CI (CI={os.environ.get('CI')}): baselines rewritten by a CI "
            "job would silently accept whatever the model does now. Update them locally and commit the files, or "
            "pass --model-audit-allow-ci-update (ini model_audit_allow_ci_update = true) if this job is meant to "
            "rewrite them.")
    return {"baseline_dir": folder, "missing_baseline": missing, **flags}
