"""Options in effect for a run: command line first, then ini, then defaults."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

INCONCLUSIVE_POLICIES = ("fail", "skip")


@dataclass(frozen=True)
class Settings:
    enabled: bool
    report_dir: Path
    pdf: bool
    seed: int
    inconclusive: str
    concepts: Path | None = None
    random_prefix: str = "random500_"

    def anchor(self, nodeid: str) -> str:
        return "audit-" + hashlib.sha1(nodeid.encode()).hexdigest()[:10]

    def evidence_link(self, nodeid: str) -> str:
        return f"{self.report_dir / 'index.html'}#{self.anchor(nodeid)}"

    def header(self) -> str:
        if not self.enabled:
            return "model-audit: off (run pytest --model-audit to run audits)"
        return (f"model-audit: on, report={self.report_dir}, pdf={'on' if self.pdf else 'off'}, "
                f"seed={self.seed}, inconclusive={self.inconclusive}")


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
    pdf = not config.getoption("model_audit_no_pdf") and _bool(config.getini("model_audit_pdf"))
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
    concepts = config.getoption("model_audit_concepts") or config.getini("model_audit_concepts") or None
    concepts_dir = None
    if concepts:
        concepts_dir = Path(concepts)
        if not concepts_dir.is_absolute():
            base = config.invocation_params.dir if config.getoption("model_audit_concepts") else config.rootpath
            concepts_dir = Path(base) / concepts_dir
    prefix = (config.getini("model_audit_random_prefix") or "random500_").strip()
    return Settings(bool(enabled), report_dir.resolve(), pdf, seed, inconclusive, concepts_dir, prefix)


def derived_seed(root: int, *parts: Any) -> int:
    """A per-use seed derived from the root seed (stable across processes and xdist workers)."""
    digest = hashlib.sha256(":".join(map(str, (root, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "little")
