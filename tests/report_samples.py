"""Synthetic results dicts that follow docs/results-schema.md, for the report tests.

Images are small numpy-drawn scenes (a spotted "leopard" blob on snow or sand) encoded as PNG
data URIs; heatmaps live on an 8x8 grid; masks are white where the region is.
"""
from __future__ import annotations

import base64
import copy
import functools
import hashlib
import io

import numpy as np
from PIL import Image

FP = "3f2a9c0d1e2b4a5c"
FP2 = "9b1e77aa00c4d2f1"
SIZE = 64
GRID = 8


def png_uri(arr: np.ndarray) -> str:
    return _png_uri(np.asarray(arr, dtype=np.uint8).tobytes(), np.shape(arr))


@functools.lru_cache(maxsize=2048)
def _png_uri(data: bytes, shape: tuple) -> str:
    arr = np.frombuffer(data, dtype=np.uint8).reshape(shape)
    buf = io.BytesIO()
    Image.fromarray(np.asarray(arr, dtype=np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


@functools.lru_cache(maxsize=512)
def scene(seed: int, size: int = SIZE, background: str = "snow"):
    """(RGB uint8 image, bool object mask) of an animal-ish blob on a background (cached: read-only)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    if background == "snow":
        base = np.stack([0.86 + 0.08 * yy, 0.9 + 0.06 * yy, 0.97 + 0.0 * yy], -1)
    else:
        base = np.stack([0.85 - 0.1 * yy, 0.7 - 0.1 * yy, 0.45 - 0.05 * yy], -1)
    cy, cx = 0.55 + 0.1 * rng.uniform(-1, 1), 0.5 + 0.15 * rng.uniform(-1, 1)
    obj = ((yy - cy) / 0.22) ** 2 + ((xx - cx) / 0.3) ** 2 <= 1.0
    fur = np.array([0.85, 0.6, 0.25])
    img = base.copy()
    img[obj] = fur
    for _ in range(14):  # spots
        sy, sx = cy + rng.uniform(-0.18, 0.18), cx + rng.uniform(-0.25, 0.25)
        spot = ((yy - sy) ** 2 + (xx - sx) ** 2 <= 0.0015) & obj
        img[spot] = [0.2, 0.13, 0.08]
    img = img + rng.normal(0, 0.02, img.shape)
    img, obj = (np.clip(img, 0, 1) * 255).astype(np.uint8), obj
    img.flags.writeable = False
    obj.flags.writeable = False
    return img, obj


def mask_uri(mask: np.ndarray) -> str:
    return png_uri(np.where(mask, 255, 0).astype(np.uint8))


def area_downsample(mask: np.ndarray, grid: int = GRID) -> list[list[float]]:
    h, w = mask.shape
    m = mask.reshape(grid, h // grid, grid, w // grid).mean(axis=(1, 3))
    return np.round(m, 3).tolist()


def heatmap_on(mask_grid, strength: float, seed: int) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    g = np.asarray(mask_grid) * strength + rng.uniform(0, 0.15 * strength, (GRID, GRID))
    return np.round(g, 4).tolist()


def heatmap_evidence(n_images: int = 8, on: str = "region", degenerate: bool = False,
                     seed: int = 0, size: int = SIZE, target: str = "leopard") -> dict:
    images, per_image = [], []
    for i in range(n_images):
        img, obj = scene(seed * 100 + i, size)
        region = ~obj  # region 'snow' = the background
        mgrid = area_downsample(region, GRID)
        if degenerate:
            hm = np.zeros((GRID, GRID)).tolist()
        else:
            hm = heatmap_on(mgrid if on == "region" else area_downsample(obj, GRID), 1.0 + i * 0.1, seed + i)
        arr = np.asarray(hm)
        total = arr.sum()
        share = float((arr * np.asarray(mgrid)).sum() / total) if total > 0 else None
        lift = float(share / np.mean(mgrid)) if share is not None else None
        entry = {"name": f"{target}_{i:03d}.png", "share": share, "lift": lift, "degenerate": degenerate}
        per_image.append(entry)
        if i < 6:
            images.append({**entry, "image": png_uri(img), "heatmap": hm,
                           "mask": mask_uri(region), "mask_grid": mgrid})
    return {
        "type": "heatmap", "method": "gradcam", "target": target, "score": "logit",
        "layer": "conv3", "grid": [GRID, GRID], "input_size": [size, size],
        "upsampling": "bilinear", "region_name": "snow",
        "region_metric": "share of positive Grad-CAM mass inside the region, on the 8x8 "
                         "feature grid; mask area-downsampled",
        "aggregate": "mean over images", "images": images, "per_image": per_image,
    }


def ablation_evidence(n_images: int = 8, hinges: bool = False, seed: int = 0,
                      size: int = SIZE, target: str = "leopard") -> dict:
    fills = [
        {"name": "mean", "description": "per-channel mean of the image set, in model-input space",
         "mean_logit_drop": 4.1 if hinges else 0.4, "mean_prob_drop": 0.62 if hinges else 0.05,
         "mean_region_only_prob": 0.93 if hinges else 0.12},
        {"name": "blur", "description": "the region blurred (Gaussian, sigma 4 px)",
         "mean_logit_drop": 0.3, "mean_prob_drop": 0.04, "mean_region_only_prob": 0.1},
        {"name": "other_images", "description": "the same region taken from other images of the set",
         "mean_logit_drop": 0.5, "mean_prob_drop": 0.07, "mean_region_only_prob": 0.15},
    ]
    decisive = "mean" if hinges else "other_images"
    images, per_image = [], []
    for i in range(n_images):
        img, obj = scene(seed * 100 + 50 + i, size)
        region = ~obj
        ablated = img.copy()
        ablated[region] = img[region].mean(axis=0).astype(np.uint8)
        pdrop = {"mean": round(0.6 - 0.02 * i, 3) if hinges else 0.05, "blur": 0.04, "other_images": 0.07}
        ldrop = {k: round(v * 6, 3) for k, v in pdrop.items()}
        per_image.append({"name": f"{target}_{i:03d}.png", "base_prob": 0.98, "prob_drop": pdrop,
                          "logit_drop": ldrop})
        if i < 6:
            images.append({
                "name": f"{target}_{i:03d}.png", "image": png_uri(img), "mask": mask_uri(region),
                "base_logit": 6.2, "base_prob": 0.98,
                "fills": {k: {"logit_drop": ldrop[k], "prob_drop": pdrop[k], "region_only_prob": 0.2,
                              **({"ablated": png_uri(ablated)} if k == decisive else {})}
                          for k in pdrop},
            })
    return {"type": "ablation", "target": target, "region_name": "snow", "fills": fills,
            "decisive_fill": decisive, "hinges_on_fill": hinges, "input_size": [size, size],
            "images": images, "per_image": per_image}


def _check(kind, claim, status, metric, measured, op, value, evidence, metrics=None,
           message="", reason=None, model=FP):
    thr = {"metric": metric, "op": op, "value": value}
    return {"kind": kind, "claim": claim, "status": status, "metric": metric, "measured": measured,
            "threshold": thr, "metrics": metrics if metrics is not None else {metric: measured},
            "message": message, "reason": reason, "model": model, "evidence": evidence}


def _audit(nodeid, title, status, checks, severity="major", message="", duration=1.3):
    deciding = next((c for c in checks if c["status"] == status), checks[0] if checks else None)
    metrics = {}
    for c in checks:
        metrics.update({k: v for k, v in c["metrics"].items() if isinstance(v, (int, float))})
    return {"id": anchor(nodeid), "nodeid": nodeid, "title": title, "severity": severity, "status": status,
            "claim": deciding["claim"] if deciding else "", "metrics": metrics,
            "threshold": deciding["threshold"] if deciding else None, "message": message,
            "duration_s": duration, "checks": checks}


def anchor(nodeid: str) -> str:
    """The card id the plugin records for an audit (failure messages link to it)."""
    return "audit-" + hashlib.sha1(nodeid.encode()).hexdigest()[:10]


def audit_snow_fail(seed: int = 0, size: int = SIZE) -> dict:
    ev = heatmap_evidence(8, on="region", seed=seed, size=size)
    nodeid = f"example_audits/test_leopard.py::test_snow_not_driving_leopard[shortcut-{seed}]"
    msg = ("FAIL: Grad-CAM mass on region 'snow' for 'leopard' is at most 0.30\n"
           "  measured: share = 0.71 (mean over 8 image(s) on the 8x8 grid of layer 'conv3')\n"
           "  threshold: share ≤ 0.3\n"
           f"  evidence: model-audit-report/index.html#{anchor(nodeid)}")
    c1 = _check("share", "Grad-CAM mass on region 'snow' for 'leopard' is at most 0.30", "FAIL",
                "share", 0.71, "<=", 0.3, ev,
                {"share": 0.71, "lift": 1.4, "images": 8.0, "excluded_images": 0.0}, message=msg)
    c1["detail"] = "mean share over 8 image(s) on the 8x8 grid of layer 'conv3'; highest: leopard_005.png = 0.95"
    c2 = _check("lift", "Grad-CAM lift on region 'snow' for 'leopard' is at most 2.0", "PASS",
                "lift", 1.4, "<=", 2.0, copy.deepcopy(ev), {"lift": 1.4, "images": 8})
    return _audit(nodeid, "The snow background is not driving 'leopard'", "FAIL", [c1, c2],
                  severity="critical", message=msg, duration=3.2)


def audit_degenerate_inconclusive(seed: int = 1) -> dict:
    ev = heatmap_evidence(6, degenerate=True, seed=seed, target="fox")
    msg = ("INCONCLUSIVE: Grad-CAM mass on region 'snow' for 'fox' cannot be decided: all heatmaps "
           "are zero at layer 'conv3' (6 of 6 images). Try another layer or score='logit'.")
    c = _check("share", "Grad-CAM mass on region 'snow' for 'fox' is at most 0.30", "INCONCLUSIVE",
               "share", None, "<=", 0.3, ev, {"share": None, "images": 6, "excluded_images": 6},
               message=msg, reason="all heatmaps are zero")
    return _audit(f"example_audits/test_leopard.py::test_fox_not_snow[{seed}]",
                  "Snow is not what makes 'fox'", "INCONCLUSIVE", [c], message=msg, duration=1.1)


def audit_error(seed: int = 2) -> dict:
    return _audit(f"example_audits/test_concepts.py::test_hibany_depends_on_red[{seed}]",
                  "Class 'hibany' depends on the concept 'red'", "ERROR", [],
                  message="FileNotFoundError: concept folder 'concepts/red' does not exist "
                          "(looked in /data/concepts/red)", duration=0.02)


def audit_ablation(seed: int = 3, hinges: bool = False, status: str = "PASS", size: int = SIZE) -> dict:
    ev = ablation_evidence(8, hinges=hinges, seed=seed, size=size)
    measured = 0.62 if hinges else 0.07
    msg = "" if status == "PASS" else (
        f"Replacing region 'snow' drops p('leopard') by {measured:.2f} (fill '{ev['decisive_fill']}'), "
        "more than the allowed 0.20. The verdict hinges on the fill.")
    c = _check("drop", "Replacing region 'snow' drops p('leopard') by at most 0.20", status,
               "prob_drop", measured, "<=", 0.2, ev,
               {"prob_drop": measured, "logit_drop": measured * 6, "images": 8}, message=msg)
    return _audit(f"example_audits/test_leopard.py::test_snow_ablation[{'fill' if hinges else 'robust'}-{seed}]",
                  "Removing the snow does not change 'leopard'", status, [c], message=msg, duration=2.4)


def audit_object_pass(seed: int = 4, size: int = SIZE) -> dict:
    ev = heatmap_evidence(7, on="object", seed=seed, size=size, target="leopard")
    c = _check("share", "Grad-CAM mass on region 'snow' for 'leopard' is at most 0.40", "PASS",
               "share", 0.18, "<=", 0.4, ev, {"share": 0.18, "lift": 0.4, "images": 7, "excluded_images": 0},
               model=FP2)
    return _audit(f"example_audits/test_leopard.py::test_snow_not_driving_leopard[robust-{seed}]",
                  "The robust model looks at the animal, not the snow", "PASS", [c], duration=2.9)


def base_results(audits: list[dict]) -> dict:
    counts = {s: sum(1 for a in audits if isinstance(a, dict) and a.get("status") == s) for s in ("PASS", "FAIL", "INCONCLUSIVE", "ERROR")}
    return {
        "schema_version": 1,
        "tool": {"name": "pytest-modelaudit", "version": "0.1.0"},
        "run": {"started_at": "2026-11-22T06:00:00+00:00", "finished_at": "2026-11-22T06:01:10+00:00",
                "duration_s": 70.2, "seed": 0, "inconclusive": "fail",
                "report_dir": "model-audit-report", "pytest_args": ["example_audits", "--model-audit"]},
        "summary": {"total": len(audits), **counts},
        "models": {
            FP: {"name": "leopard_shortcut", "source": "example_audits/models/leopard_shortcut.keras",
                 "fingerprint": FP, "input_shape": [64, 64, 3], "input_range": "(0, 1)",
                 "classes": ["leopard", "fox", "camel"], "output": "softmax",
                 "logits_from": "input of activation of layer 'head' (Dense)", "params": 123456,
                 "layers_used": ["conv3"]},
            FP2: {"name": "leopard_robust", "source": "in-memory keras.Model", "fingerprint": FP2,
                  "input_shape": [64, 64, 3], "input_range": "callable: my_preprocess",
                  "classes": ["leopard", "fox", "camel"], "output": "linear",
                  "logits_from": "output of layer 'logits' (Dense, linear)", "params": 98765,
                  "layers_used": ["conv3", "conv2"]},
        },
        "environment": {"python": "3.11.7", "platform": "Linux-6.8.0-x86_64-with-glibc2.39",
                        "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.3.0",
                        "pytest": "9.0.0", "pytest_modelaudit": "0.1.0"},
        "audits": audits,
    }


def sample_results() -> dict:
    """All four statuses, both evidence types, an ERROR audit without checks (PASS listed first)."""
    return base_results([
        audit_object_pass(),
        audit_ablation(3, hinges=False, status="PASS"),
        audit_error(),
        audit_degenerate_inconclusive(),
        audit_snow_fail(),
        audit_ablation(5, hinges=True, status="FAIL"),
    ])


HOSTILE_TITLE = "<script>alert('title')</script> & \"quotes\""
HOSTILE_MESSAGE = "<img src=x onerror=alert(1)> see https://evil.example/steal.png </pre><b>bold</b>"


def hostile_results() -> dict:
    res = sample_results()
    a = audit_snow_fail(seed=9)
    a["title"] = HOSTILE_TITLE
    a["message"] = HOSTILE_MESSAGE
    a["nodeid"] = "tests/test_x.py::test_<b>evil</b>"
    a["checks"][0]["claim"] = "<svg onload=alert(2)>"
    a["checks"][0]["evidence"]["region_name"] = "<i>snow</i>"
    a["checks"][0]["evidence"]["images"][0]["name"] = "\"><script>alert(3)</script>.png"
    a["checks"][0]["evidence"]["images"][1]["image"] = "https://evil.example/x.png"  # never embedded
    res["models"][FP]["name"] = "<script>model</script>"
    res["audits"].append(a)
    return res


def big_results(n: int = 50, size: int = 128) -> dict:
    """``n`` audits with full evidence and larger thumbnails, for the size budget."""
    makers = [
        lambda i: audit_snow_fail(seed=i, size=size),
        lambda i: audit_ablation(i, hinges=True, status="FAIL", size=size),
        lambda i: audit_object_pass(seed=i, size=size),
        lambda i: audit_ablation(i, hinges=False, status="PASS", size=size),
        lambda i: audit_degenerate_inconclusive(seed=i),
    ]
    # Seeds repeat (i % 10) so building the sample stays fast; every audit is still complete.
    audits = [makers[i % len(makers)](i % 10) for i in range(n)]
    for i, a in enumerate(audits):
        a["nodeid"] = f"{a['nodeid']}#{i}"
        a["id"] = anchor(a["nodeid"])
    return base_results(audits)
