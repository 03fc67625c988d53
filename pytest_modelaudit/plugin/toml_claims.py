"""Claims in TOML files (`audit_*.toml`): each `[[claim]]` table is one test item per model, with the same
evidence, verdict, report card, JUnit properties and baselines as a Python audit."""
from __future__ import annotations

import fnmatch
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from ..errors import ModelAuditError, closest
from .audit_item import AuditItem

DEFAULT_PATTERN = "audit_*.toml"
# evidence name -> Audit method
EVIDENCE = {"ablation": "ablation", "gradcam": "gradcam", "occlusion": "occlusion", "heatmap": "heatmap",
            "tcav": "tcav", "performance": "performance", "embedding": "embedding", "disagreement": "disagreement",
            "features": "features", "robustness": "robustness"}
CLAIM_KEYS = ("title", "model", "evidence", "expect", "severity", "region", "region_name", "intended")
MODEL_KEYS = ("path", "classes", "input_range", "name")
PATH_KEYS = ("images", "fill_images", "concepts", "data", "path", "classes")
REGIONS = ("masks", "inverse")
_CLAIM_HEADER = re.compile(r"^\s*\[\[\s*claim\s*\]\]")


class ClaimError(ModelAuditError):
    """A TOML claim that cannot run as written: names the file, the table (line) and the key."""


def toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def is_claim_file(path: Path, patterns: list[str]) -> bool:
    return path.suffix == ".toml" and any(fnmatch.fnmatch(path.name, p) for p in patterns)


class ClaimFile(pytest.File):
    """One TOML file of claims."""

    def collect(self):
        text = self.path.read_text(encoding="utf-8")
        try:
            doc = toml_loads(text)
        except Exception as exc:
            raise ClaimError(f"{self.path.name} is not valid TOML: {exc}") from None
        lines = [i + 1 for i, line in enumerate(text.splitlines()) if _CLAIM_HEADER.match(line)]
        claims = doc.get("claim", [])
        models = doc.get("models", {})
        unknown = sorted(set(doc) - {"models", "claim"})
        for n, claim in enumerate(claims if isinstance(claims, list) else [], 1):
            line = lines[n - 1] if n <= len(lines) else 0
            where = Where(self.path, n, line, text)
            names = claim.get("model") if isinstance(claim, dict) else None
            names = [names] if isinstance(names, str) else names if isinstance(names, list) else [None]
            for model in names:
                base = _slug(claim.get("title")) if isinstance(claim, dict) else ""
                name = f"claim{n}_{base}" if base else f"claim{n}"
                evidence = claim.get("evidence") if isinstance(claim, dict) else None
                param = "-".join(names) if evidence == "disagreement" else model
                item = ClaimItem.from_parent(self, name=f"{name}[{param}]" if param else name, claim=claim,
                                             model=model, models=models, where=where, top_unknown=unknown)
                yield item
                if evidence == "disagreement":
                    break  # one item compares all its models


def _slug(title: Any) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(title or "").lower()).strip("_")[:50]


class Where:
    """Where a claim is written, for messages: file, table number, line, and each key's line."""

    def __init__(self, path: Path, n: int, line: int, text: str):
        self.path, self.n, self.line, self._lines = path, n, line, text.splitlines()

    def key_line(self, key: str) -> int:
        for i in range(self.line, len(self._lines)):
            if i > self.line and _CLAIM_HEADER.match(self._lines[i]):
                break
            if re.match(rf"^\s*{re.escape(key)}\s*=", self._lines[i]):
                return i + 1
        return self.line

    def error(self, message: str, key: str | None = None) -> ClaimError:
        line = self.key_line(key) if key else self.line
        return ClaimError(f"{self.path.name}:{line}: [[claim]] {self.n}: {message}")


class ClaimItem(AuditItem):
    """One claim on one model."""

    def __init__(self, *, claim: Any, model: str | None, models: Any, where: Where, top_unknown: list[str],
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.claim, self.model_name, self.models, self.where, self.top_unknown = claim, model, models, where, top_unknown
        title = claim.get("title") if isinstance(claim, dict) else None
        severity = claim.get("severity", "major") if isinstance(claim, dict) else "major"
        intended = claim.get("intended") if isinstance(claim, dict) else None  # `expect` holds the expectations
        self.add_marker(pytest.mark.model_audit(**({"title": str(title)} if title else {}), severity=severity,
                                                **({"expect": intended} if intended is not None else {})))

    def reportinfo(self):
        return self.path, self.where.line - 1, f"[[claim]] {self.where.n}: {self.name}"

    def run_audit(self, audit: Any) -> None:
        run_claim(audit, self.claim, self.model_name, self.models, self.where, self.top_unknown)

    def failure_text(self, message: str) -> str:
        return f"{self.where.path.name}:{self.where.line}: [[claim]] {self.where.n}\n{message}"


def run_claim(audit: Any, claim: Any, model_name: str | None, models: Any, where: Where,
              top_unknown: list[str]) -> None:
    """Check the claim's keys and types, build its evidence through the Audit API, then its expectations."""
    if top_unknown:
        raise where.error(f"unknown top-level table(s) {', '.join(map(repr, top_unknown))}; a claim file holds "
                          "[models] and [[claim]] tables.")
    if not isinstance(claim, dict):
        raise where.error("a [[claim]] must be a table of keys")
    evidence = claim.get("evidence")
    if evidence not in EVIDENCE:
        raise where.error(f"evidence = {evidence!r} is not an evidence kind." + closest(str(evidence), EVIDENCE),
                          "evidence")
    method = getattr(audit, EVIDENCE[evidence], None)
    if method is None:
        raise where.error(f"evidence {evidence!r} is not available in this version", "evidence")
    params = inspect.signature(method).parameters
    takes = [p for p in params if p not in ("model", "models", "self")]
    valid = list(CLAIM_KEYS) + takes
    for key in claim:
        if key not in valid:
            raise where.error(f"unknown key {key!r}." + closest(key, valid), key)
    if "expect" not in claim or not isinstance(claim["expect"], dict) or not claim["expect"]:
        raise where.error("needs expect = { <expectation> = { ... } }, e.g. expect = { drop = { at_most = 0.2 } }",
                          "expect")
    base = where.path.parent
    kwargs: dict[str, Any] = {}
    images_masks = claim.get("region") in REGIONS
    for key in takes:
        if key in claim:
            kwargs[key] = _value(key, claim[key], base, where, masks=images_masks and key == "images")
    if evidence == "disagreement":
        names = claim.get("model")
        if not isinstance(names, list) or len(names) < 2:
            raise where.error("disagreement compares models: model = [\"a\", \"b\", ...]", "model")
        model_arg: Any = [_model(n, models, base, where) for n in names]
    else:
        if model_name is None:
            raise where.error("needs model = \"<a name in [models]>\"", "model")
        model_arg = _model(model_name, models, base, where)
    region = None
    if "region" in claim:
        region = _region(claim["region"], kwargs.get("images"), where)
        if "region" in params:
            kwargs["region"] = region
    if "region_name" in claim and "region_name" in params:
        kwargs["region_name"] = str(claim["region_name"])
    evidence_obj = method(model_arg, **kwargs)
    for name, args in claim["expect"].items():
        fn = getattr(evidence_obj, f"expect_{name}", None)
        choices = [m[len("expect_"):] for m in dir(evidence_obj) if m.startswith("expect_")]
        if fn is None:
            raise where.error(f"{evidence} has no expectation {name!r}." + closest(name, choices), "expect")
        if not isinstance(args, dict):
            raise where.error(f"expect.{name} must be a table of its arguments, e.g. {{ at_most = 0.2 }}; "
                              f"got {args!r}", "expect")
        eparams = inspect.signature(fn).parameters
        extra = dict(args)
        if "region" in eparams and "region" not in extra:
            if region is None:
                raise where.error(f"expect.{name} needs the claim's region = \"masks\" or \"inverse\"", "region")
            extra["region"] = region
            if "region_name" in eparams and "region_name" in claim:
                extra["region_name"] = str(claim["region_name"])
        for key in extra:
            if key not in eparams:
                raise where.error(f"expect.{name} has no argument {key!r}." + closest(key, list(eparams)), "expect")
        fn(**extra)


def _value(key: str, value: Any, base: Path, where: Where, *, masks: bool = False) -> Any:
    """A claim's value as the Audit API takes it: paths relative to the file, images loaded (with masks)."""
    if key in PATH_KEYS:
        if not isinstance(value, str):
            raise where.error(f"{key} must be a path (a string), got {type(value).__name__} {value!r}", key)
        path = (base / value).resolve()
        if not path.exists():
            raise where.error(f"{key} = {value!r}: {path} does not exist", key)
        if key in ("images", "fill_images"):
            from ..core.cache.memory import SESSION_CACHE
            from ..core.data.images import load_images

            return SESSION_CACHE.memo(("toml_images", str(path), masks), lambda: load_images(path, masks=masks))
        return str(path)
    return value


def _region(value: Any, images: Any, where: Where) -> Any:
    if value not in REGIONS:
        raise where.error(f"region = {value!r}: give \"masks\" (the images' own _mask.png files) or \"inverse\" "
                          "(their complement)", "region")
    masks = getattr(images, "masks", None)
    if masks is None:
        raise where.error("region needs images = \"<folder>\" whose images have _mask.png files", "region")
    return masks if value == "masks" else 1.0 - masks


def _model(name: str, models: Any, base: Path, where: Where) -> Any:
    """A model named in [models], loaded once per session."""
    if not isinstance(models, dict) or name not in models:
        raise where.error(f"model {name!r} is not in [models]." + closest(str(name), list(models or {})), "model")
    spec = models[name]
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict) or "path" not in spec:
        raise where.error(f"[models] {name} needs path = \"<model file>\"", "model")
    for key in spec:
        if key not in MODEL_KEYS:
            raise where.error(f"[models] {name}: unknown key {key!r}." + closest(key, MODEL_KEYS), "model")
    path = _value("path", spec["path"], base, where)
    classes = _value("classes", spec["classes"], base, where) if "classes" in spec else None
    input_range = tuple(spec.get("input_range", (0, 1)))
    from ..core.cache.memory import SESSION_CACHE
    from ..core.model.adapter import load_model

    return SESSION_CACHE.memo(("toml_model", path, classes, input_range, spec.get("name", name)),
                              lambda: load_model(path, classes=classes, input_range=input_range,
                                                 name=spec.get("name", name)))
