"""`audit.features(...)`: what a channel or class looks for, its record for results.json, and its expectations."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..core.checks.verdicts import Check
    from ..core.insight.features import FeaturesResult
    from ..core.model.adapter import ModelAdapter
    from .audit import Audit

THUMB = 64  # px, top images and crops
MAX_TOP_RECORDED = 8  # per unit
MAX_UNITS_RECORDED = 8
ILLUSTRATIVE = "illustrative: synthetic input, not evidence"


def run_features(audit: Audit, model: Any, images: Any, *, layer: str | None, channels: Sequence[int] | None,
                 target: Any, top: int, batch_size: int, maximise: bool) -> FeaturesAudit:
    """Compute the evidence (and the illustrative maximisation) and wrap it for the expectations."""
    from ..core.insight.features import top_features
    from ..core.model.passes import phase

    adapter = audit._use(model)
    tgt = adapter.target(target) if target is not None else None
    with phase("evidence"):
        result = top_features(adapter, images, layer=layer, channels=channels, target=tgt, top=top,
                              batch_size=batch_size)
    audit.layers_used.setdefault(adapter.fingerprint, set()).add(result.layer)
    audit.panel_images.setdefault(adapter.fingerprint, result.inputs.images[:8])
    if maximise:
        from ..core.insight.maximise import maximise as run_max

        seed = audit._next_seed()
        try:
            with phase("illustration"):
                result.maximised = run_max(adapter, [u.index for u in result.units],
                                           layer=result.layer if result.mode == "channels" else None, seed=seed)
        except Exception as exc:  # illustrative only: never costs the audit its evidence
            result.notes.append(f"activation maximisation not drawn: {type(exc).__name__}: {exc}")
    return FeaturesAudit(audit, adapter, result)


@dataclass
class FeaturesEvidence:
    """The evidence a features check records: the result plus the per-unit label shares of the claim."""

    result: FeaturesResult
    of: str | None = None
    shares: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe record: per unit its top images (64 px thumbnails and crops, values, labels), and the
        maximisation images marked illustrative."""
        from ..schema import json_number
        from .thumbnails import image_uri

        r = self.result
        x = r.inputs.images
        units = []
        for k, u in enumerate(r.units[:MAX_UNITS_RECORDED]):
            tops = []
            for t in u.top[:MAX_TOP_RECORDED]:
                y0, x0, y1, x1 = t.box
                tops.append({
                    "name": t.name, "index": t.index, "value": json_number(t.value),
                    "label": r.labels[t.index] if r.labels is not None else None,
                    "peak": [int(t.peak[0]), int(t.peak[1])], "box": [int(y0), int(x0), int(y1), int(x1)],
                    "image": image_uri(_boxed(x[t.index], t.box), THUMB),
                    "crop": image_uri(_upscale(x[t.index, y0:y1, x0:x1]), THUMB),
                })
            units.append({
                "kind": u.kind, "index": u.index, "label": u.label, "top": tops,
                "constant": bool(u.constant),
                "score_range": [json_number(float(u.scores.min())), json_number(float(u.scores.max()))],
                "share": json_number(self.shares[k]) if k < len(self.shares) else None,
            })
        out: dict[str, Any] = {
            "type": "features", "layer": r.layer, "mode": r.mode, "grid": [int(v) for v in r.grid],
            "input_size": [int(v) for v in x.shape[1:3]], "n_images": int(len(x)), "of": self.of,
            "labelled": r.labels is not None, "units": units, "notes": list(r.notes),
            "scored": ("mean activation over H, W" if r.mode == "channels" else "class logit; crop where its "
                       "Grad-CAM at the layer peaks"),
        }
        m = r.maximised
        if m is not None:
            out["maximised"] = {
                "illustrative": ILLUSTRATIVE, "how": m.describe(), "steps": int(m.steps), "seed": int(m.seed),
                "images": [{"label": u.label, "image": image_uri(m.images[k], THUMB),
                            "objective": json_number(float(m.objective[k]))}
                           for k, u in enumerate(r.units[:MAX_UNITS_RECORDED])],
            }
        return out


def _upscale(crop: np.ndarray) -> np.ndarray:
    """A crop enlarged (nearest) so its long side is THUMB px, for a visible thumbnail."""
    h, w = crop.shape[:2]
    f = max(1, THUMB // max(h, w, 1))
    return np.repeat(np.repeat(crop, f, axis=0), f, axis=1)


def _boxed(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The image with the crop box outlined in yellow."""
    out = np.array(img, np.float32, copy=True)
    if out.shape[-1] != 3:
        out = np.repeat(out[..., :1], 3, axis=-1)
    y0, x0, y1, x1 = box
    t = max(1, out.shape[0] // 32)
    col = np.array([1.0, 0.85, 0.0], np.float32)
    out[y0:y0 + t, x0:x1] = col
    out[max(y1 - t, 0):y1, x0:x1] = col
    out[y0:y1, x0:x0 + t] = col
    out[y0:y1, max(x1 - t, 0):x1] = col
    return out


class FeaturesAudit:
    """Top-activating images per channel or class, and the claims on them."""

    def __init__(self, audit: Audit, adapter: ModelAdapter, result: FeaturesResult):
        self.audit, self.adapter, self.result = audit, adapter, result

    def expect_top_images(self, *, of: str, at_least: float | None = None, at_most: float | None = None) -> Check:
        """Share of each unit's top images labelled `of` (the least favourable unit decides), on labelled images."""
        from ..core.checks.verdicts import Threshold, decide
        from ..core.insight.features import label_share
        from ..errors import ModelAuditError

        r = self.result
        if r.labels is None:
            raise ModelAuditError("expect_top_images(of=...) needs labelled images: pass a LabelledSet (e.g. "
                                  "load_labelled(folder of class folders)) as images to audit.features.")
        threshold = Threshold.of("top_share", at_most, at_least)
        shares = [label_share(r, u, of) for u in r.units]
        n_of = sum(lab == of for lab in r.labels)
        units = ", ".join(u.label for u in r.units)
        claim = f"the top-{len(r.units[0].top)} activating images of {units} at layer {r.layer!r} are of class {of!r}"
        metrics = {"top_share": min(shares) if shares else float("nan"), "images": float(len(r.labels)),
                   "images_of_class": float(n_of), "top": float(len(r.units[0].top))}
        for u, s in zip(r.units, shares):
            metrics[f"top_share.{u.label}"] = s
        reason = None
        if of not in set(r.labels):
            reason = (f"no image is labelled {of!r} (labels present: {', '.join(sorted(set(r.labels)))}); include "
                      "images of that class so the top images could be of it")
        elif n_of == len(r.labels):
            reason = f"every image is of class {of!r}, so the share is 1 whatever the model does; add other classes"
        elif len(r.units[0].top) < 2:
            reason = "fewer than 2 top images; pass more images or top>=2"
        else:
            flat = [u.label for u in r.units if u.constant]
            if flat:
                reason = (f"{', '.join(flat)} has the same score on every image, so its ranking is arbitrary; "
                          "pick another layer or channel")
        base = n_of / len(r.labels)
        detail = (f"least favourable unit's share {metrics['top_share']:.2f}; {n_of} of {len(r.labels)} images "
                  f"({base:.0%}) are {of!r}, so chance is about {base:.2f}")
        evidence = FeaturesEvidence(r, of, shares)
        check = decide("features", claim, threshold, metrics["top_share"], metrics, reason=reason, detail=detail,
                       evidence=evidence, model=self.adapter)
        return self.audit.conclude(check)
