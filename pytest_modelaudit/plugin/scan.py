"""The one-command scan: `pytest --model-audit --model-audit-model=PATH [--model-audit-data=DIR]` runs a
default suite of claims, each one that can fail, with no test file. Each is an ordinary audit item."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .audit_item import AuditItem

BORDER = 0.10  # the band along the image border, as a share of the width (corner watermarks, padding)
# ini name -> (default, what it bounds)
DEFAULTS = {
    "model_audit_scan_accuracy": (0.8, "accuracy on the data, at least"),
    "model_audit_scan_recall": (0.5, "every class's recall on the data, at least"),
    "model_audit_scan_flip_rate": (0.1, "share of predictions one label-preserving change may flip, at most"),
    "model_audit_scan_accuracy_drop": (0.05, "accuracy one label-preserving change may cost, at most"),
    "model_audit_scan_border_lift": (1.5, "Grad-CAM lift (mass share / area share) of the border band, at most"),
    "model_audit_scan_border_drop": (0.2, "probability drop when the border band is replaced, at most"),
    "model_audit_scan_separable": (0.8, "leave-one-out k-NN accuracy of the classes before the head, at least"),
}
CLAIMS = ("gradcam_honest", "border", "robust", "accuracy", "separable")
SCAN = "model-audit-scan"  # the items' node ids: model-audit-scan::scan_<claim>[<model>(-<class>)]


def add_options(parser: pytest.Parser, group: Any) -> None:
    group.addoption("--model-audit-model", action="append", default=None, dest="model_audit_model", metavar="PATH",
                    help="scan this model file with the default audits, no test file needed (repeatable; ini "
                         "model_audit_model)")
    group.addoption("--model-audit-data", action="append", default=None, dest="model_audit_data", metavar="DIR",
                    help="labelled images for the scan: one folder of images per class (repeatable; ini "
                         "model_audit_data)")
    parser.addini("model_audit_model", "model files the scan audits (one per line)", type="linelist", default=[])
    parser.addini("model_audit_data", "class-folder image sets for the scan (one per line)", type="linelist", default=[])
    parser.addini("model_audit_scan_flip", "the scan's robustness check may flip images horizontally", type="bool",
                  default=False)
    for name, (default, what) in DEFAULTS.items():
        parser.addini(name, f"scan: {what} (default {default})", default=str(default))


@dataclass(frozen=True)
class ScanTarget:
    model: Path
    data: tuple[Path, ...]


def targets(config: pytest.Config) -> list[ScanTarget]:
    """The models to scan and the data, paths from the command line relative to where pytest ran."""
    def paths(opt: str) -> list[Path]:
        cli = config.getoption(opt)
        base = Path(config.invocation_params.dir) if cli else config.rootpath
        raw = cli or [line for line in config.getini(opt) if str(line).strip()]
        return [(base / str(p)).resolve() for p in raw]

    models, data = paths("model_audit_model"), paths("model_audit_data")
    for p in models + data:
        if not p.exists():
            what = "model file" if p in models else "data folder"
            raise pytest.UsageError(f"--model-audit-{'model' if p in models else 'data'}: {what} {p} does not exist")
    return [ScanTarget(m, tuple(data)) for m in models]


def scan_items(session: pytest.Session) -> list[pytest.Item]:
    """One item per default claim and model (per class for the border claim when there is data)."""
    items = []
    for t in targets(session.config):
        name = t.model.stem
        classes = _data_classes(t.data)
        for claim in CLAIMS:
            if claim == "border" and classes:
                for c in classes:
                    item = f"scan_border[{name}-{c}]"
                    items.append(ScanItem.from_parent(session, name=item, nodeid=f"{SCAN}::{item}", target=t,
                                                      claim=claim, klass=c))
                continue
            item = f"scan_{claim}[{name}]"
            items.append(ScanItem.from_parent(session, name=item, nodeid=f"{SCAN}::{item}", target=t, claim=claim,
                                              klass=None))
    return items


def _data_classes(data: tuple[Path, ...]) -> list[str]:
    found: list[str] = []
    for d in data:
        for p in sorted(d.iterdir()):
            if p.is_dir() and not p.name.startswith(".") and p.name not in found:
                found.append(p.name)
    return found


TITLES = {
    "gradcam_honest": "Grad-CAM passes its honesty checks on this model",
    "border": "The evidence for '{cls}' is not on the image border",
    "robust": "Predictions are stable under small label-preserving changes",
    "accuracy": "Accuracy and every class's recall are at least the defaults",
    "separable": "The classes are separable in the layer before the head",
}


class ScanItem(AuditItem):
    """One default claim of the scan on one model."""

    def __init__(self, *, target: ScanTarget, claim: str, klass: str | None, **kwargs: Any):
        super().__init__(**kwargs)
        self.target, self.claim, self.cls = target, claim, klass
        self.add_marker(pytest.mark.model_audit(title=TITLES[claim].format(cls=klass),
                                                severity="critical" if claim in ("border", "accuracy") else "major"))

    def reportinfo(self):
        return self.target.model, None, f"model-audit scan: {self.name}"

    def run_audit(self, audit: Any) -> None:
        run_scan_claim(audit, self.config, self.target, self.claim, self.cls)


def _setting(config: pytest.Config, name: str) -> float:
    raw = config.getini(name)
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise pytest.UsageError(f"ini {name} must be a number, got {raw!r}") from None


def _model(config: pytest.Config, path: Path, data: Any) -> Any:
    """The model, with its classes from a classes.txt beside it, else from the data's class folders."""
    from ..core.cache.memory import SESSION_CACHE
    from ..core.model.adapter import load_model

    beside = [p for p in (path.with_suffix(".classes.txt"), path.parent / "classes.txt") if p.is_file()]
    classes = str(beside[0]) if beside else (data.classes if data is not None else None)
    key = ("scan_model", str(path), str(classes))
    return SESSION_CACHE.memo(key, lambda: load_model(path, classes=classes, name=path.stem))


def _data(target: ScanTarget) -> Any:
    from ..core.cache.memory import SESSION_CACHE
    from ..core.data.images import ImageSet
    from ..core.data.labelled import LabelledSet, load_labelled

    if not target.data:
        return None

    def load() -> LabelledSet:
        import numpy as np

        sets = [load_labelled(d) for d in target.data]
        if len(sets) == 1:
            return sets[0]
        size = sets[0].images.images.shape[1:3]
        from ..core.data.images import resize_batch

        images = np.concatenate([resize_batch(s.images.images, size) for s in sets])
        names = [n for s in sets for n in s.images.names]
        return LabelledSet(ImageSet(images, names, source=", ".join(s.source for s in sets)),
                           [lab for s in sets for lab in s.labels], ", ".join(s.source for s in sets))

    return SESSION_CACHE.memo(("scan_data",) + tuple(map(str, target.data)), load)


def border_band(shape: tuple[int, int], share: float = BORDER) -> Any:
    """1 on a band of `share` of the width along every edge, 0 inside."""
    import numpy as np

    h, w = shape
    b = max(1, round(share * min(h, w)))
    band = np.ones((h, w), np.float32)
    band[b:h - b, b:w - b] = 0
    return band


def run_scan_claim(audit: Any, config: pytest.Config, target: ScanTarget, claim: str, cls: str | None) -> None:
    import numpy as np

    from ..core.checks.verdicts import Threshold, decide

    data = _data(target)
    model = audit.model(_model(config, target.model, data))
    if data is None:
        audit.conclude(decide(claim, TITLES[claim].format(cls=cls), Threshold.of("n_images", None, 1), None, {},
                              reason="the scan has no images: give --model-audit-data=DIR (one folder of images "
                                     "per class)", model=model))
        return
    if claim == "accuracy":
        perf = audit.performance(model, data)
        perf.expect_accuracy(at_least=_setting(config, "model_audit_scan_accuracy"))
        perf.expect_accuracy(at_least=_setting(config, "model_audit_scan_recall"), per_class=True)
        return
    if claim == "separable":  # the embedding panel, with a claim on the layer space (not the 2-D picture)
        audit.embedding(model, data).expect_separable(at_least=_setting(config, "model_audit_scan_separable"))
        return
    if claim == "robust":
        r = audit.robustness(model, data, flip=bool(config.getini("model_audit_scan_flip")))
        r.expect_flip_rate(at_most=_setting(config, "model_audit_scan_flip_rate"))
        r.expect_accuracy_drop(at_most=_setting(config, "model_audit_scan_accuracy_drop"))
        return
    from ..core.data.images import ImageSet

    if claim == "gradcam_honest":  # on the class the model gets right most often, its rightly predicted images
        from ..core.insight.predictions import predict

        labels = data.indices(model)
        right = predict(model, data.images)[1].argmax(-1) == labels
        cls = model.labels[int(np.bincount(labels[right], minlength=len(model.labels)).argmax())]
        keep = [i for i, lab in enumerate(data.labels) if lab == cls and right[i]]
    else:
        keep = [i for i, lab in enumerate(data.labels) if lab == cls]
    images = ImageSet(data.images.images[keep], [data.images.names[i] for i in keep], source=f"{data.source} ({cls})")
    if claim == "gradcam_honest":
        audit.gradcam(model, images, cls).expect_honest()
        return
    band = np.broadcast_to(border_band(images.images.shape[1:3]), images.images.shape[:3]).copy()
    # a flat or blurred band removes a watermark or padding; other images' borders could hold the same mark
    abl = audit.ablation(model, images, cls, band, region_name="border band", fills=["mean", "blur"])
    abl.expect_drop(at_most=_setting(config, "model_audit_scan_border_drop"))
    cam = audit.gradcam(model, images, cls)
    cam.expect_lift(band, at_most=_setting(config, "model_audit_scan_border_lift"), region_name="border band")
