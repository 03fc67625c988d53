"""Claims run through the product's public audit path, each with its truth, expected and actual verdict.

A claim is run exactly as a user's audit test would: ``pytest_modelaudit.plugin.audit.Audit`` with the
plugin's ``Settings`` (honesty checks on, inconclusive = fail), ``audit.ablation / gradcam /
occlusion / tcav(...)`` then ``expect_*``; ``AuditFailure`` / ``AuditInconclusive`` are caught and
the verdict, measured value and reason are read from ``audit.checks[-1]``. Several claims on the
same evidence share one evidence call (one audit), as several ``expect_*`` lines of one test would.

Outcome of a claim against its truth (``outcome``):

* ``correct``: PASS when the claim is true, FAIL when it is false (for a TCAV claim made only at the
  layer right before GAP + a linear head, which cannot decide anything, the correct verdict is
  INCONCLUSIVE whatever the truth);
* ``wrong PASS`` / ``wrong FAIL``: the other verdict;
* ``INCONCLUSIVE``: the evidence could not decide (never a pass; its reason is kept);
* ``undecidable``: INCONCLUSIVE on a claim that the audit's own images cannot decide, by the scenes'
  construction and the product's documented fill rules, not by any verdict (``Claim.undecidable`` says
  why: e.g. default fills on a set whose backgrounds are all snow); a PASS or FAIL there is still judged
  against the truth;
* ``ERROR``: the audit raised (bad input or a crash; the message is kept);
* ``n/a``: the expectation or option does not exist in this version of the product (kept in the
  code so the claim runs as soon as it lands).
"""
from __future__ import annotations

import inspect
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import models as M
import truth as T

KINDS = ("ablation", "ablation+fill_images", "gradcam", "occlusion", "tcav", "tcav+contrast")
DROP_AT_MOST, DROP_AT_LEAST = 0.2, 0.3
ONLY_BOUND = 0.5
LIFT_BOUND = 1.0
TCAV_LAYERS = ["conv2", "pool2"]  # informative
DROP_TRUTH = {"background": "bg_drop", "object": "obj_drop", "mark": "mark_drop"}
PART_SET = ("ears", "fins", "leaves")
# fill images for "only the region kept": the content that surrounds the region's alternatives
ONLY_FILL = {"background": "object", "object": "background", "mark": "mark"}
ONLY_TRUTH = {"background": "bg_only", "object": "obj_only", "mark": "mark_only"}


@dataclass
class Claim:
    model: str
    kind: str
    claim: str
    target: str
    truth_name: str
    truth: float
    band: str
    clear_cut: bool
    expected: str
    group: str = ""
    ctype: str = ""  # the claim with model and class left out: the row it is counted in
    undecidable: str = ""  # why the audit's images alone cannot decide it (set from the scenes, before running)
    verdict: str = "not run"
    measured: float | None = None
    reason: str | None = None
    detail: str = ""
    outcome: str = ""
    dd_z: float | None = None  # TCAV: the directional derivative's pseudo-concept z at the deciding layer of largest |z|
    dd_z_every: float | None = None  # ... and at the weakest deciding layer (what replication across layers tests)
    dd_layers: int = 0  # how many layers decide
    seconds: float = 0.0
    run: Callable[[Any], Any] | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("run")
        return d


def _settings(report_dir: Path) -> Any:
    from pytest_modelaudit.plugin.options import Settings

    return Settings(enabled=True, report_dir=report_dir, pdf=False, seed=0, inconclusive="fail")


def has_opposes() -> bool:
    from pytest_modelaudit.plugin.audit import TcavAudit

    return hasattr(TcavAudit, "expect_opposes")


def has_contrast() -> bool:
    from pytest_modelaudit.plugin.audit import Audit

    return "contrast" in inspect.signature(Audit.tcav).parameters


# ----- truth -> expected verdict -----------------------------------------------------------------------
def _drop_claim(value: float, upper: bool) -> tuple[str, bool, str]:
    band = T.drop_band(value)
    true = value <= DROP_AT_MOST if upper else value >= DROP_AT_LEAST
    return band, band != "graded", "PASS" if true else "FAIL"


def _lift_claim(value: float, upper: bool) -> tuple[str, bool, str]:
    # a heatmap claim about a region is read as the causal claim: at most = "not driving", at least = "drives"
    return _drop_claim(value, upper)


def _only_claim(value: float, upper: bool) -> tuple[str, bool, str]:
    band = T.prob_band(value)
    true = value <= ONLY_BOUND if upper else value >= ONLY_BOUND
    return band, band != "graded", "PASS" if true else "FAIL"


def _concept_claim(value: float, which: str) -> tuple[str, bool, str]:
    band = T.delta_band(value)
    if which == "depends":
        true = value >= 0.15
    elif which == "opposes":
        true = value <= -0.15
    else:
        true = abs(value) < 0.15
    return band, band != "graded", "PASS" if true else "FAIL"


# ----- building the claims -------------------------------------------------------------------------
def _ablation_claims(case: T.Case, region: str, kind: str, adapter: Any) -> list[Claim]:
    from pytest_modelaudit.core.data.images import ImageSet

    images = ImageSet.from_arrays(case.images)
    with_fills = kind == "ablation+fill_images"
    mask = case.masks[region]
    group = f"{case.model}/{case.target_name}/{kind}/{region}"
    evidence: dict[str, Any] = {}

    def ev_for(which: str) -> Callable[[Any], Any]:
        # replacing the region calls for content like the region's alternatives; keeping only the region
        # calls for content like what surrounds it elsewhere (ONLY_FILL): two evidence calls with fill images
        fill_key = region if which == "drop" else ONLY_FILL[region]
        fill = case.fill_images.get(fill_key) if with_fills else None
        key = fill_key if with_fills else "default"

        def ev(audit: Any) -> Any:
            if key not in evidence:
                evidence[key] = audit.ablation(adapter, images, case.target, region=mask, region_name=region,
                                               fill_images=fill)
            return evidence[key]

        return ev

    ev, ev_only = ev_for("drop"), ev_for("only")
    k = f"'{case.target_name}'"
    specs = (  # (truth, how it labels the claim, upper bound?, words, the claim)
        (DROP_TRUTH[region], _drop_claim, True, f"the {region} is not driving {k} (drop at most {DROP_AT_MOST})",
         lambda a: ev(a).expect_drop(at_most=DROP_AT_MOST)),
        (DROP_TRUTH[region], _drop_claim, False, f"the {region} drives {k} (drop at least {DROP_AT_LEAST})",
         lambda a: ev(a).expect_drop(at_least=DROP_AT_LEAST)),
        (ONLY_TRUTH[region], _only_claim, True,
         f"the {region} alone does not make {k} (region-only P at most {ONLY_BOUND})",
         lambda a: ev_only(a).expect_region_only(at_most=ONLY_BOUND)),
        (ONLY_TRUTH[region], _only_claim, False, f"the {region} alone makes {k} (region-only P at least {ONLY_BOUND})",
         lambda a: ev_only(a).expect_region_only(at_least=ONLY_BOUND)),
    )
    claims = []
    for truth_name, label, upper, words, fn in specs:
        value = case.truth[truth_name]
        band, cc, exp = label(value, upper)
        why = "" if with_fills else _default_fills_cannot_decide(case, region, only=truth_name == ONLY_TRUTH[region])
        claims.append(Claim(case.model, kind, words, case.target_name, truth_name, value, band, cc, exp, group,
                            ctype=words.replace(f" {k}", " k"), undecidable=why, run=fn))
    return claims


def _default_fills_cannot_decide(case: T.Case, region: str, only: bool) -> str:
    """Why the set's own images cannot replace the region with something else, or "" when they can.

    Without fill_images the product's counted fill is `shuffle`: other images of the set at the same place,
    so that nothing of what is removed comes back (README, Fills). From how the scenes were drawn: the
    watermark corner is the same box in every image, so no image has other content there; "only the object
    kept" would take its everything else from the set's own images, whose objects are the class; and a
    background swapped among images that all have the same kind of background stays that background."""
    if region == "mark":
        return "the mark's corner is the same box in every image: no image of the set has other content there"
    if region == "object" and only:
        return "everything but the object would come from the set's own images, whose objects are the class"
    if region == "background" and not only and len(case.extra.get("backgrounds", ())) == 1:
        return (f"every image of the set has a {case.extra['backgrounds'][0]} background: swapping it among them "
                "cannot remove it")
    return ""


def _heatmap_claims(case: T.Case, kind: str, adapter: Any, regions: tuple[str, ...]) -> list[Claim]:
    from pytest_modelaudit.core.data.images import ImageSet

    images = ImageSet.from_arrays(case.images)
    group = f"{case.model}/{case.target_name}/{kind}"
    evidence: dict[str, Any] = {}

    def ev(audit: Any) -> Any:
        if "hm" not in evidence:
            evidence["hm"] = (audit.gradcam(adapter, images, case.target) if kind == "gradcam"
                              else audit.occlusion(adapter, images, case.target))
        return evidence["hm"]

    label = "Grad-CAM" if kind == "gradcam" else "occlusion"
    claims = []
    for region in regions:
        d = case.truth[DROP_TRUTH[region]]
        mask = case.masks[region]
        for upper in (True, False):
            words = (f"{label}: the model does not look at the {region} for '{case.target_name}' "
                     f"(lift at most {LIFT_BOUND})" if upper else
                     f"{label}: the model looks at the {region} for '{case.target_name}' (lift at least {LIFT_BOUND})")

            def fn(a: Any, mask: Any = mask, region: str = region, upper: bool = upper) -> Any:
                bound = {"at_most": LIFT_BOUND} if upper else {"at_least": LIFT_BOUND}
                return ev(a).expect_lift(region=mask, region_name=region, **bound)

            band, cc, exp = _lift_claim(d, upper)
            bgs = case.extra.get("backgrounds", ())
            why = (f"occlusion's default fill is the set's mean, and over backgrounds all of one kind ({bgs[0]}) it is "
                   "close to what is there" if kind == "occlusion" and region == "background" and len(bgs) == 1 else "")
            claims.append(Claim(case.model, kind, words, case.target_name, DROP_TRUTH[region], d, band, cc, exp, group,
                                ctype=words.replace(f" '{case.target_name}'", " k").split(": ", 1)[1], undecidable=why,
                                run=fn))
    return claims


def _tcav_claims(case: T.Case, adapter: Any, library: Any, concepts: tuple[str, ...], *, variants: tuple[str, ...],
                 contrast: dict[str, list[str]] | None = None) -> list[Claim]:
    from pytest_modelaudit.core.data.images import ImageSet

    images = ImageSet.from_arrays(case.images)
    claims = []
    layer_sets = {"informative": TCAV_LAYERS, "pre-GAP only": [M.PRE_GAP], "+pre-GAP": [TCAV_LAYERS[-1], M.PRE_GAP]}
    for concept in concepts:
        for variant in variants:
            layers = layer_sets[variant]
            extra = {}
            kind = "tcav"
            if contrast is not None:
                extra = {"contrast": contrast[concept]}
                kind = "tcav+contrast"
            group = f"{case.model}/{case.target_name}/{kind}/{concept}/{variant}"
            evidence: dict[str, Any] = {}

            def ev(audit: Any, layers: list[str] = layers, concept: str = concept, extra: dict = extra,
                   evidence: dict = evidence) -> Any:
                if "t" not in evidence:
                    evidence["t"] = audit.tcav(adapter, case.target, concept, layers=layers, concepts=library,
                                               images=images, **extra)
                return evidence["t"]

            value = case.truth[f"delta[{concept}]"]
            vs = f" vs {'+'.join(contrast[concept])}" if contrast is not None else ""
            where = f"at {'+'.join(layers)}"
            for which in ("depends", "independent", "opposes"):
                words = {"depends": f"'{case.target_name}' depends on '{concept}'{vs} {where}",
                         "independent": f"'{case.target_name}' is independent of '{concept}'{vs} {where}",
                         "opposes": f"'{case.target_name}' is opposed by '{concept}'{vs} {where}"}[which]

                def fn(a: Any, which: str = which, ev: Any = ev) -> Any:
                    return getattr(ev(a), f"expect_{which}")()

                band, cc, exp = _concept_claim(value, which)
                if variant == "pre-GAP only":
                    cc, exp = True, "INCONCLUSIVE"
                family = "part" if concept in PART_SET else "colour"
                c = Claim(case.model, kind if variant != "pre-GAP only" else kind + " (pre-GAP only)", words,
                          case.target_name, f"delta[{concept}]", value, band, cc, exp, group,
                          ctype=f"{which} ({family} concepts{', vs siblings' if vs else ''}, {where})", run=fn)
                if which == "opposes" and not has_opposes():
                    c.verdict, c.outcome, c.reason, c.run = "not available", "n/a", "TcavAudit.expect_opposes does not exist yet", None
                if contrast is not None and not has_contrast():
                    c.verdict, c.outcome, c.reason, c.run = "not available", "n/a", "audit.tcav has no contrast= option yet", None
                claims.append(c)
    return claims


def claims_for(case: T.Case, adapter: Any, kinds: tuple[str, ...], library: Any = None,
               tcav_concepts: tuple[str, ...] = (), tcav_variants: tuple[str, ...] = ("informative",)) -> list[Claim]:
    out: list[Claim] = []
    if case.regions:
        for kind in ("ablation", "ablation+fill_images"):
            if kind in kinds:
                for region in case.regions:
                    out += _ablation_claims(case, region, kind, adapter)
        for kind in ("gradcam", "occlusion"):
            if kind in kinds:
                out += _heatmap_claims(case, kind, adapter, case.regions)
    else:
        import creatures as C

        if "tcav" in kinds:
            out += _tcav_claims(case, adapter, library, tcav_concepts, variants=tcav_variants)
        if "tcav+contrast" in kinds and tcav_concepts:
            # each concept against its siblings of the same family (a part vs the other parts, a colour vs the
            # other colours) instead of random images: what they share ("part-ness", "a flat patch") cancels
            siblings = {c: [q for q in (C.PART_NAMES if c in C.PART_NAMES else C.COLOURS) if q != c]
                        for c in tcav_concepts}
            out += _tcav_claims(case, adapter, library, tcav_concepts, variants=("informative",), contrast=siblings)
    return out


# ----- running -----------------------------------------------------------------------------------------
def outcome(expected: str, verdict: str, undecidable: str = "") -> str:
    if verdict in ("ERROR", "n/a", "not available"):
        return "ERROR" if verdict == "ERROR" else "n/a"
    if verdict == expected:
        return "correct"
    if verdict == "PASS":
        return "wrong PASS"
    if verdict == "FAIL":
        return "wrong FAIL"
    return "undecidable" if undecidable else "INCONCLUSIVE"


def _dd_z(check: Any, pick: Callable[..., float]) -> float | None:
    """The signed directional-derivative z of largest (pick=max) or smallest (min) size over the layers that decide
    (None: not TCAV, or no layer decides)."""
    layers = getattr(check.evidence, "layers", None) or []
    zs = [s.magnitude_z for s in layers if getattr(s, "decides", False) and np.isfinite(s.magnitude_z)]
    return float(pick(zs, key=abs)) if zs else None


def run_claims(claims: list[Claim], log: Any = print) -> None:
    """Run every claim (one Audit per evidence group, like one test with several expect_* lines)."""
    from pytest_modelaudit.plugin.audit import Audit
    from pytest_modelaudit.errors import AuditFailure, AuditInconclusive

    report_dir = Path(tempfile.mkdtemp(prefix="validity-report-"))
    settings = _settings(report_dir)
    audits: dict[str, Any] = {}
    for c in claims:
        if c.run is None:
            continue
        audit = audits.setdefault(c.group, Audit(f"benchmarks/validity::{c.group}", settings))
        before = len(audit.checks)
        t0 = time.perf_counter()
        try:
            c.run(audit)
        except (AuditFailure, AuditInconclusive):
            pass
        except Exception as exc:  # an audit error: kept, never stops the other claims
            c.verdict, c.reason = "ERROR", f"{type(exc).__name__}: {exc}"
            c.detail = traceback.format_exc(limit=3)[-800:]
        c.seconds = round(time.perf_counter() - t0, 3)
        if c.verdict != "ERROR":
            if len(audit.checks) > before:
                chk = audit.checks[-1]
                c.verdict = chk.status.value
                c.measured = None if chk.measured is None or not np.isfinite(chk.measured) else float(chk.measured)
                c.reason, c.detail = chk.reason, chk.detail
                c.dd_z, c.dd_z_every = _dd_z(chk, max), _dd_z(chk, min)
                c.dd_layers = sum(bool(getattr(s, "decides", False)) for s in getattr(chk.evidence, "layers", None) or [])
            else:
                c.verdict, c.reason = "ERROR", "the expectation recorded no check"
        c.outcome = outcome(c.expected, c.verdict, c.undecidable)
    for c in claims:
        if not c.outcome:
            c.outcome = outcome(c.expected, c.verdict, c.undecidable)
