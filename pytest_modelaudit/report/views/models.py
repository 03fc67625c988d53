"""View of the model details (models.html.j2), which the summary, the checks and the comparison link to."""
from __future__ import annotations

from typing import Any

from ..formatting import DASH, fmt_num, fmt_shape
from .common import as_dict, as_list, slug_anchor, text

MAX_CLASSES_SHOWN = 30


def model_views(models: Any) -> dict[str, dict]:
    """One view per recorded model, by its key in results.json (the fingerprint)."""
    out = {}
    for key, m in as_dict(models).items():
        m = as_dict(m)
        classes = [text(c) for c in as_list(m.get("classes"))]
        shown = ", ".join(classes[:MAX_CLASSES_SHOWN])
        if len(classes) > MAX_CLASSES_SHOWN:
            shown += f", … ({len(classes) - MAX_CLASSES_SHOWN} more)"
        fp = text(m.get("fingerprint")) or text(key)
        out[text(key)] = {
            "key": text(key),
            "anchor": slug_anchor("model", fp),
            "name": text(m.get("name")) or fp,
            "fingerprint": fp,
            "rows": [
                ("Source", text(m.get("source"), DASH)),
                ("Fingerprint", fp),
                ("Input shape", fmt_shape(m.get("input_shape"))),
                ("Input range", text(m.get("input_range"), DASH)),
                (f"Classes ({len(classes)})", shown or DASH),
                ("Output", text(m.get("output"), DASH)),
                ("Logits from", text(m.get("logits_from"), DASH)),
                ("Parameters", fmt_num(m.get("params"))),
                ("Layers used", ", ".join(text(x) for x in as_list(m.get("layers_used"))) or DASH),
            ],
            "layers": _layer_rows(m),
            "filters": _filters(m),
            "feature_maps": _feature_maps(m),
        }
    return out


def _filters(m: dict) -> dict | None:
    """The first convolution layer's filter grid, with words for what it shows."""
    f = as_dict(m.get("filters"))
    image = text(f.get("image"))
    if not image.startswith("data:image/"):
        return None
    shape = [int(v) for v in as_list(f.get("shape"))]
    size = " × ".join(str(v) for v in shape) if shape else DASH
    shown, count = f.get("shown"), f.get("count")
    how = "in colour (they read the 3 input channels)" if f.get("rgb") else "in grey (the mean over their input channels)"
    more = f", the first {shown} shown" if shown and count and shown < count else ""
    return {"image": image, "caption": (f"First convolution layer '{text(f.get('layer'))}': {count} filters of {size}"
                                        f"{more}, {how}, each scaled to its own range")}


def _feature_maps(m: dict) -> dict | None:
    """The layer-wise feature maps of the panel image: a row per stage (path, type, shape, top channel maps)."""
    f = as_dict(m.get("feature_maps"))
    stages = []
    for raw in as_list(f.get("stages")):
        st = as_dict(raw)
        maps = []
        for c in as_list(st.get("channels")):
            c = as_dict(c)
            image = text(c.get("image"))
            if image.startswith("data:image/"):
                maps.append({"image": image, "label": f"ch {text(c.get('index'), '?')} · {fmt_num(c.get('mean'))}"})
        stages.append({"path": text(st.get("path"), DASH), "kind": text(st.get("kind"), DASH),
                       "shape": fmt_shape(st.get("shape")) if as_list(st.get("shape")) else DASH, "maps": maps})
    if not stages:
        return None
    image = text(f.get("image"))
    total = f.get("stages_total") if isinstance(f.get("stages_total"), int) else len(stages)
    return {"image": image if image.startswith("data:image/") else None, "stages": stages, "total": total,
            "caption": (f"Feature maps of every convolution / activation / pooling stage ({total}) on the image at "
                        "left: the 8 channels with the highest mean activation, each scaled to its own range (ch index "
                        "· mean activation)")}


def _layer_rows(m: dict) -> list[dict]:
    """The layer summary table: path (indented under nested models), type, output shape, parameters, trainable,
    and which layers the audits used and where the logits are read."""
    used = {text(x) for x in as_list(m.get("layers_used"))}
    rows = []
    for r in as_list(m.get("layers")):
        r = as_dict(r)
        path = text(r.get("path"))
        params, trainable = r.get("params"), r.get("trainable_params")
        notes = [n for n, on in (("used by an audit", path in used), ("logits read here", r.get("logits")))
                 if on]
        rows.append({
            "path": path, "depth": int(r.get("depth") or 0), "kind": text(r.get("kind"), DASH),
            "shape": fmt_shape(r.get("output_shape")) if as_list(r.get("output_shape")) else DASH,
            "params": fmt_num(params),
            "trainable": ("yes" if r.get("trainable") and trainable != 0 or not params else "no") + (
                f" ({fmt_num(trainable)} of {fmt_num(params)})" if params and trainable and trainable != params else ""),
            "container": bool(r.get("container")), "notes": ", ".join(notes),
        })
    return rows


def models_section(models: dict[str, dict]) -> list[dict]:
    """The models in the order the summary and the details list them."""
    return sorted(models.values(), key=lambda m: (m["name"], m["fingerprint"]))
