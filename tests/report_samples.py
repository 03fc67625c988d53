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
            companions = {} if degenerate else {
                "occlusion": heatmap_on(mgrid, 0.5 + i * 0.1, seed + i + 50),
                "integrated_gradients": heatmap_on(area_downsample(obj, GRID), 1.0, seed + i + 90)}
            images.append({**entry, "image": png_uri(img), "heatmap": hm,
                           "mask": mask_uri(region), "mask_grid": mgrid, "companions": companions})
    extra = {} if degenerate else honesty_evidence(images[0], seed)
    return {**extra,
        "type": "heatmap", "method": "gradcam", "target": target, "score": "logit",
        "layer": "conv3", "grid": [GRID, GRID], "input_size": [size, size],
        "upsampling": "bilinear", "region_name": "snow",
        "region_metric": "share of positive Grad-CAM mass inside the region, on the 8x8 "
                         "feature grid; mask area-downsampled",
        "aggregate": "mean over images", "images": images, "per_image": per_image,
    }


def _curve(falling: bool, speed: float) -> list[float]:
    xs = np.linspace(0, 1, 11)
    ys = np.exp(-speed * xs) if falling else 1 - np.exp(-speed * xs)
    return np.round(ys, 4).tolist()


def honesty_evidence(first: dict, seed: int) -> dict:
    """The honesty block of a heatmap audit (schema: evidence.honesty, .stability, .curves)."""
    def curves(speed: float) -> dict:
        fills = ["blur", "mean", "black"]
        d = [_curve(True, speed * (1 + 0.1 * k)) for k in range(3)]
        ins = [_curve(False, speed * (1 - 0.1 * k)) for k in range(3)]
        auc = lambda ys: float(np.trapezoid(ys, np.linspace(0, 1, 11)))  # noqa: E731
        return {"fractions": np.linspace(0, 1, 11).round(2).tolist(), "fills": fills, "images": 8,
                "deletion": d, "insertion": ins, "deletion_auc": [auc(y) for y in d],
                "insertion_auc": [auc(y) for y in ins]}
    checks = [
        {"name": "randomisation", "value": -0.05, "threshold": 0.5, "passed": True, "values": [0.1, -0.2, -0.05],
         "detail": "vs 3 copies with every weighted layer re-initialised: mean rank correlation -0.05"},
        {"name": "class_sensitivity", "value": 0.71, "threshold": 0.5, "passed": False, "values": [0.71],
         "detail": "maps for 'leopard' vs 'fox': mean rank correlation 0.71; must stay below 0.5"},
        {"name": "faithfulness", "value": None, "threshold": 0.0, "passed": None, "values": [0.0, 0.0, 0.0],
         "detail": "undetermined: the probability barely moves even with every pixel removed"},
    ]
    return {
        "honesty_policy": "inconclusive",
        "honesty": {"method_key": "gradcam layer=conv3", "images": 8, "checks": checks,
                    "example_image": first["image"], "example_name": first["name"], "example_mask": first["mask"],
                    "examples": {"audited": first["heatmap"], "randomised": heatmap_on(first["mask_grid"], 0.2, seed + 7),
                                 "other_class": first["companions"]["integrated_gradients"]},
                    "other_class": "fox", "curves": curves(8.0)},
        "stability": {"metric": "share", "clean": 0.81, "noisy": [0.8, 0.83, 0.79], "noise": 0.02,
                      "spread": [0.79, 0.83], "unstable": False},
        "curves": {"gradcam": curves(8.0), "occlusion": curves(5.0), "integrated_gradients": curves(2.0)},
    }


def ablation_evidence(n_images: int = 8, hinges: bool = False, seed: int = 0,
                      size: int = SIZE, target: str = "leopard") -> dict:
    fills = [
        {"name": "mean", "description": "per-channel mean of the image set, in model-input space",
         "mean_logit_drop": 4.1 if hinges else 0.4, "mean_prob_drop": 0.62 if hinges else 0.05,
         "mean_region_only_prob": 0.93 if hinges else 0.12},
        {"name": "blur", "description": "the region blurred (Gaussian, sigma 4 px)",
         "mean_logit_drop": 0.3, "mean_prob_drop": 0.04, "mean_region_only_prob": 0.1,
         "removal": 0.54, "admissible": False,
         "not_counted": "changed it by only 0.54x the set's own variation there (needs 1.5x)"},
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
HOSTILE_CONCEPT = "<script>alert('concept')</script>"
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
    t = tcav_audits()[2]  # more_than: concept, other concept and layer names all reach the SVG
    ev = t["checks"][0]["evidence"]
    ev["concept"], ev["compare_to"] = HOSTILE_CONCEPT, "<img src=x onerror=alert(5)>"
    ev["layers"][0]["layer"] = "</svg><script>alert(6)</script>"
    ev["sign_convention"] = "<b>sign</b>"
    ev["concept_images"] = ev["concept_images"][:1] + ["https://evil.example/c.png", "javascript:alert(7)"]
    res["audits"].append(t)
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


# --------------------------------------------------------------------------- TCAV samples

STARTER_FP = "c0ffee12d00d4a51"
TCAV_SIGN = "gradient of the target logit; an image counts when its directional derivative along the unit CAV is > 0"
RANDOM_SETS = [f"random500_{i}" for i in range(10)]


def concept_thumbs(color: tuple[int, int, int], n: int = 4, seed: int = 0) -> list[str]:
    """A few 64 px 'concept images': noisy patches of one colour with a darker blob."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = np.ones((64, 64, 3)) * np.asarray(color, float) / 255
        yy, xx = np.mgrid[0:64, 0:64] / 64
        cy, cx = rng.uniform(0.3, 0.7, 2)
        img[((yy - cy) ** 2 + (xx - cx) ** 2) < 0.04] *= 0.6
        img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
        out.append(png_uri((img * 255).astype(np.uint8)))
    return out


def _scores(rng, mean: float, sd: float, n: int) -> list[float]:
    return [round(float(v), 4) for v in np.clip(rng.normal(mean, sd, n), 0.0, 1.0)]


def tcav_layer(name: str, dims: int, concept_mu: float, random_mu: float, acc: float, *, seed: int,
               other_mu: float | None = None, sd: float = 0.06, random_sd: float = 0.14,
               runs: int = 10, margin: float = 0.0) -> dict:
    """One layer's recorded runs and statistics (computed with the product's own statistics)."""
    from pytest_modelaudit.core.tcav import stats as tcav_stats

    rng = np.random.default_rng(seed)
    concept = _scores(rng, concept_mu, sd, runs)
    random = _scores(rng, random_mu, random_sd, runs)
    other = _scores(rng, other_mu, sd, runs) if other_mu is not None else None
    baseline = other if other is not None else random
    c = tcav_stats.compare(concept, baseline, seed=seed, margin=margin)
    return {
        "layer": name, "dims": dims, "represented": None, "verdict": None,
        "concept_scores": concept, "random_scores": random, "other_scores": other,
        "magnitudes": [round(float(v), 4) for v in rng.uniform(0.2, 1.2, runs)],
        "concept_accuracies": [round(float(v), 3) for v in np.clip(rng.normal(acc, 0.02, runs), 0, 1)],
        "concept_accuracy_mean": acc, "random_accuracy_mean": round(float(rng.uniform(0.48, 0.58)), 3),
        "concept_mean": c.concept_mean, "baseline_mean": c.random_mean, "effect": c.effect, "ci": list(c.ci),
        "p_welch": c.p_welch, "p_greater": c.p_greater, "p_within": c.p_within,
        "p_one_sample": c.p_one_sample, "p_student": tcav_stats.student(random, concept),
        "p_adjusted": None, "runs": runs, "baseline_runs": runs,
    }


def tcav_evidence(kind: str, target: str, concept: str, layers: list[dict], *, compare_to: str | None = None,
                  params: dict | None = None, alpha: float = 0.05, min_accuracy: float = 0.7,
                  color=(200, 40, 40), n_concept: int = 60) -> dict:
    """Evidence the way plugin/records.tcav_evidence writes it; verdicts and Holm follow core/tcav/checks."""
    from pytest_modelaudit.core.tcav import stats as tcav_stats

    params = dict(params or ({"margin": 0.1} if kind == "independent" else {"min_effect": 0.1}))
    for L in layers:
        L["represented"] = L["concept_accuracy_mean"] >= min_accuracy
    pick = "p_within" if kind == "independent" else "p_greater"
    adjusted = tcav_stats.holm([L[pick] if L["represented"] else float("nan") for L in layers])
    above = tcav_stats.holm([L["p_greater"] if L["represented"] else float("nan") for L in layers])
    for L, p, p_above in zip(layers, adjusted, above):
        L["p_adjusted"] = None if np.isnan(p) else p
        if not L["represented"]:
            L["verdict"] = "INCONCLUSIVE"
        elif kind == "independent":
            L["verdict"] = ("PASS" if p < alpha else
                            "FAIL" if p_above < alpha and L["effect"] >= params["margin"] else "INCONCLUSIVE")
        else:
            L["verdict"] = "PASS" if p < alpha and L["effect"] >= params["min_effect"] else "FAIL"
    rep = [L["p_adjusted"] for L in layers if L["represented"]]
    primary = (max(rep) if kind == "independent" else min(rep)) if rep else None
    if kind == "more_than":
        decision = ("one-sided Welch t-test of the concept's runs against the other concept's runs (same random "
                    "sets), Holm-corrected over layers")
    elif kind == "independent":
        m = params["margin"]
        decision = (f"equivalence test: one-sided Welch t-test that the concept's mean TCAV is below the random "
                    f"baseline's + {m}, Holm-corrected over layers; PASS needs every layer; FAIL when some layer is "
                    f"significantly above the baseline by at least {m}")
    else:
        decision = ("one-sided Welch t-test of the concept's runs (one CAV per random set) against the "
                    "random-vs-random baseline runs, Holm-corrected over the claim's layers; layers whose CAV "
                    f"accuracy is below {min_accuracy} are not counted")
    return {
        "type": "tcav", "claim_kind": kind, "target": target, "concept": concept, "compare_to": compare_to,
        "mode": "default", "score": "logit", "sign_convention": TCAV_SIGN,
        "estimator": "ridge classifier in closed form; unit-length CAV", "pooling": "none (flattened)",
        "n_target": 60, "n_concept": n_concept, "target_source": f"example_audits/starters/concepts/{target}",
        "random_sets": RANDOM_SETS, "n_random": [60] * 10,
        "alpha": alpha, "min_accuracy": min_accuracy, "params": params, "decision": decision,
        "primary_p": primary, "p_session_holm": None, "survives_session_correction": None,
        "layers": layers, "concept_images": concept_thumbs(color, seed=len(concept) + len(target)),
    }


def _overall(kind: str, layers: list[dict]) -> str:
    v = [L["verdict"] for L in layers]
    if kind == "independent":
        return "FAIL" if "FAIL" in v else ("PASS" if set(v) == {"PASS"} else "INCONCLUSIVE")
    return "PASS" if "PASS" in v else ("FAIL" if "FAIL" in v else "INCONCLUSIVE")


def tcav_audit(name: str, title: str, ev: dict, claim: str, threshold: dict, *, reason: str | None = None) -> dict:
    kind = ev["claim_kind"]
    status = _overall(kind, ev["layers"])
    if reason == "auto":  # as core/tcav/layers words it
        reason = ("equivalence to the random baseline could not be shown at "
                  + ", ".join(f"'{L['layer']}' (effect {L['effect']:.3f}, p {L['p_adjusted']:.3g})"
                              for L in ev["layers"] if L["represented"] and L["verdict"] == "INCONCLUSIVE")
                  + "; absence of significance is not evidence of absence (more random runs may decide)")
    rep = [L for L in ev["layers"] if L["represented"]]
    best = max(rep, key=lambda L: L["effect"]) if rep else None
    metrics = {}
    for L in ev["layers"]:
        metrics.update({f"tcav[{L['layer']}]": L["concept_mean"], f"random[{L['layer']}]": L["baseline_mean"],
                        f"p_adj[{L['layer']}]": L["p_adjusted"], f"cav_acc[{L['layer']}]": L["concept_accuracy_mean"]})
    detail = ""
    if best is not None and kind == "independent":
        detail = (f"largest effect at '{best['layer']}': TCAV {best['concept_mean']:.3f} vs random "
                  f"{best['baseline_mean']:.3f} (effect {best['effect']:.3f}, 95% CI [{best['ci'][0]:.3f}, "
                  f"{best['ci'][1]:.3f}])")
    elif best is not None:
        detail = (f"best layer '{best['layer']}': TCAV {best['concept_mean']:.3f} vs baseline "
                  f"{best['baseline_mean']:.3f}, effect {best['effect']:.3f} [{best['ci'][0]:.3f}, "
                  f"{best['ci'][1]:.3f}], Holm-adjusted p {best['p_adjusted']:.3g}")
    nodeid = f"example_audits/test_starter_concepts.py::{name}"
    msg = ""
    if status != "PASS":
        msg = (f"{status}: {claim}\n" + (f"  why: {reason}\n" if status == "INCONCLUSIVE" and reason else "")
               + (f"  measured: effect = {best['effect']:.3f} ({detail})\n" if best else "")
               + f"  threshold: effect {'≥' if threshold['op'] == '>=' else '≤'} {threshold['value']}\n"
               f"  model: starter (fingerprint {STARTER_FP})\n"
               f"  evidence: model-audit-report/index.html#{anchor(nodeid)}")
    c = _check(f"tcav_{kind}", claim, status, "effect", best["effect"] if best else None, threshold["op"],
               threshold["value"], ev, metrics, message=msg,
               reason=reason if status == "INCONCLUSIVE" else None, model=STARTER_FP)
    c["detail"] = detail
    return _audit(nodeid, title, status, [c], message=msg, duration=4.2)


def tcav_audits() -> list[dict]:
    """Five TCAV claims: a clear depends PASS (one layer not represented), an independent INCONCLUSIVE,
    a more_than FAIL, a weak depends PASS that does not survive session-wide Holm, a depends FAIL."""
    return copy.deepcopy(_tcav_audits())


@functools.lru_cache(maxsize=1)
def _tcav_audits() -> list[dict]:
    red = tcav_evidence("depends", "hibany", "red", [
        tcav_layer("conv1", 8192, 0.6, 0.5, 0.58, seed=11),
        tcav_layer("conv2", 4096, 0.81, 0.5, 0.91, seed=12),
        tcav_layer("conv3", 2048, 0.93, 0.48, 0.97, seed=13),
    ])
    white = tcav_evidence("independent", "messon", "white", [
        tcav_layer("conv2", 4096, 0.52, 0.5, 0.88, seed=21, sd=0.03, random_sd=0.04, margin=0.1),
        tcav_layer("conv3", 2048, 0.56, 0.5, 0.9, seed=22, sd=0.14, margin=0.1),
    ], color=(235, 235, 240))
    green = tcav_evidence("more_than", "sarunori", "green", [
        tcav_layer("conv2", 4096, 0.64, 0.5, 0.86, seed=31, other_mu=0.69),
        tcav_layer("conv3", 2048, 0.71, 0.49, 0.93, seed=32, other_mu=0.74),
    ], compare_to="blue", params={"min_effect": 0.05}, color=(40, 160, 60))
    yellow = tcav_evidence("depends", "hibany", "yellow", [
        tcav_layer("conv3", 2048, 0.66, 0.5, 0.81, seed=41, sd=0.12, random_sd=0.14, runs=8),
    ], color=(230, 200, 30), n_concept=24)
    black = tcav_evidence("depends", "messon", "black", [
        tcav_layer("conv2", 4096, 0.5, 0.5, 0.84, seed=51),
        tcav_layer("conv3", 2048, 0.47, 0.51, 0.89, seed=52),
    ], color=(25, 25, 25))
    evs = [red, white, green, yellow, black]
    ps = [e["primary_p"] if e["primary_p"] is not None else float("nan") for e in evs]
    from pytest_modelaudit.core.tcav import stats as tcav_stats

    for e, p in zip(evs, tcav_stats.holm(ps)):  # as record.session_holm does
        e["p_session_holm"] = p
        e["survives_session_correction"] = bool(p < e["alpha"])
    dep = lambda t, c: (f"'{t}' depends on concept '{c}': TCAV significantly above the random baseline "
                        f"(Holm-adjusted p < 0.05) by at least 0.10, at every informative one of {{n}} layer(s)")
    ge = lambda v: {"metric": "effect", "op": ">=", "value": v}
    return [
        tcav_audit("test_hibany_depends_on_red", "Class 'hibany' depends on the concept 'red'", red,
                   dep("hibany", "red").format(n=3), ge(0.1)),
        tcav_audit("test_messon_independent_of_white", "Class 'messon' does not depend on 'white'", white,
                   "'messon' does not depend on concept 'white': at every one of 2 layer(s) its TCAV runs are "
                   "shown to stay below the random baseline + 0.10", {"metric": "effect", "op": "<=", "value": 0.1},
                   reason="auto"),
        tcav_audit("test_sarunori_green_more_than_blue", "'sarunori' depends on 'green' more than on 'blue'", green,
                   "'sarunori' depends on concept 'green' more than on 'blue': TCAV significantly higher by at "
                   "least 0.05 at one of 2 layer(s)", ge(0.05)),
        tcav_audit("test_hibany_depends_on_yellow", "Class 'hibany' depends on the concept 'yellow'", yellow,
                   dep("hibany", "yellow").format(n=1), ge(0.1)),
        tcav_audit("test_messon_depends_on_black", "Class 'messon' depends on the concept 'black'", black,
                   dep("messon", "black").format(n=2), ge(0.1)),
    ]


def tcav_results() -> dict:
    res = base_results(tcav_audits())
    res["models"][STARTER_FP] = {
        "name": "starter", "source": "example_audits/starters/models/starter.keras", "fingerprint": STARTER_FP,
        "input_shape": [64, 64, 3], "input_range": "(0, 1)", "classes": ["hibany", "messon", "sarunori"],
        "output": "softmax", "logits_from": "input of activation of layer 'head' (Dense)", "params": 54321,
        "layers_used": ["conv1", "conv2", "conv3"]}
    return res
