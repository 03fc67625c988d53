"""The validation suite: models with planted reliance, truth by counterfactual swaps, the product's verdicts.

    make validate                      # everything (trains the models once, then only evaluates)
    .venv/bin/python benchmarks/validity/run.py --fast          # a small subset (two models, a few claims)
    .venv/bin/python benchmarks/validity/run.py --only gradcam  # one evidence kind (repeatable)
    .venv/bin/python benchmarks/validity/run.py --check         # exit 1 when a clear-cut claim got a wrong PASS

Prints each model's training accuracy and counterfactual truth, then one table per evidence kind (rows:
the claim, columns: correct / wrong PASS / wrong FAIL / INCONCLUSIVE / ERROR / n/a / total / % correct,
over clear-cut claims), a summary with one row per kind, the graded claims apart, and every wrong
verdict with the product's own numbers. Writes every claim to ``benchmarks/validity/latest.json``.
The exit status is 0 (it is a report) unless ``--check``. See truth.py for the clear-cut rule and
claims.py for how a verdict is scored against the truth.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))

import claims as CL  # noqa: E402
import models as M  # noqa: E402
import truth as T  # noqa: E402

LATEST = HERE / "latest.json"
COLUMNS = ("correct", "wrong PASS", "wrong FAIL", "INCONCLUSIVE", "undecidable", "ERROR", "n/a")
FAST_MODELS = ("bg_shortcut_s100", "bg_shortcut_s000")
FAST_TARGETS = (0, 1)
FAST_KINDS = ("ablation", "ablation+fill_images", "gradcam")


def _concepts() -> tuple[str, ...]:
    import creatures as C

    return (*C.COLOURS, *C.PART_NAMES)


def collect(models: tuple[str, ...], kinds: tuple[str, ...], targets: tuple[int, ...] | None = None,
            log: Any = print) -> tuple[list[CL.Claim], dict[str, Any]]:
    """Train or load each model, measure its truth, build and run its claims."""
    from pytest_modelaudit import load_model

    summaries: dict[str, Any] = {}
    claims: list[CL.Claim] = []
    library = None
    for name in models:
        spec = M.SPECS[name]
        if spec.family == "starter" and not {"tcav", "tcav+contrast"} & set(kinds):
            continue
        if spec.family != "starter" and not set(kinds) - {"tcav", "tcav+contrast"}:
            continue
        keras_model, meta = M.get(name, log=log)
        adapter = load_model(keras_model, classes=list(spec.classes), input_range=(0, 1), name=name)
        cases = []
        for k in targets if targets is not None else range(len(spec.classes)):
            cases.append(T.starter_case(name, keras_model, k) if spec.family == "starter"
                         else T.scene_case(name, keras_model, k))
        summaries[name] = {**meta, "truth": {c.target_name: c.truth for c in cases}}
        if spec.family == "starter" and library is None:
            from pytest_modelaudit.core.data.concepts import ConceptLibrary

            library = ConceptLibrary.from_arrays(T.concept_library_sets(), random_prefix="random500_")
        for case in cases:
            if spec.family == "starter":
                import creatures as C

                # colours: at the informative layers, with the pre-GAP layer added, and at the pre-GAP layer alone
                claims += CL.claims_for(case, adapter, kinds, library, tuple(C.COLOURS),
                                        tcav_variants=("informative", "+pre-GAP", "pre-GAP only"))
                # parts: at the informative layers (each call adds its family's contrast claims)
                claims += CL.claims_for(case, adapter, kinds, library, tuple(C.PART_NAMES),
                                        tcav_variants=("informative",))
            else:
                claims += CL.claims_for(case, adapter, kinds)
        t0 = time.perf_counter()
        mine = [c for c in claims if c.model == name]
        CL.run_claims(mine, log=log)
        log(f"  {name}: {len(mine)} claims in {time.perf_counter() - t0:.1f}s")
    return claims, summaries


# ----- printing ------------------------------------------------------------------------------------
def _fmt_truth(t: dict[str, float]) -> str:
    keep = [k for k in ("accuracy", "p_base", "bg_drop", "obj_drop", "bg_only", "obj_only", "mark_drop", "mark_only")
            if k in t]
    keep += [k for k in t if k.startswith("delta[")]
    return ", ".join(f"{k.replace('delta', 'Δ')} {t[k]:+.2f}" if k.startswith("delta") else f"{k} {t[k]:.2f}"
                     for k in keep)


def print_models(summaries: dict[str, Any], out: Any = print) -> None:
    out("\n== Models and their measured truth (fresh scenes; P = mean probability of the class) ==")
    for name, s in summaries.items():
        out(f"\n{name}: {s['what']}")
        out(f"  trained on {s['n_train']} images, {s['epochs']} epochs: training accuracy {s['train_accuracy']:.3f}")
        for cls, t in s["truth"].items():
            out(f"  {cls:9} {_fmt_truth(t)}")


def _table(rows: dict[str, Counter], title: str, out: Any) -> None:
    width = max([len(r) for r in rows] + [len(title), 10])
    head = f"{title:<{width}} | " + " | ".join(f"{c:>12}" for c in COLUMNS) + f" | {'total':>5} | {'% correct':>9} | {'% right':>7}"
    out(head)
    out("-" * len(head))
    total = Counter()
    for r, cnt in rows.items():
        total.update(cnt)
        out(_row(r, cnt, width))
    if len(rows) > 1:
        out("-" * len(head))
        out(_row("all", total, width))


def _row(label: str, cnt: Counter, width: int) -> str:
    n = sum(cnt[c] for c in COLUMNS)
    decided = n - cnt["n/a"]
    pct = f"{100.0 * cnt['correct'] / decided:.0f}%" if decided else "-"
    # right: correct, or INCONCLUSIVE where the audit's images cannot decide by construction (see claims.py)
    right = f"{100.0 * (cnt['correct'] + cnt['undecidable']) / decided:.0f}%" if decided else "-"
    return (f"{label:<{width}} | " + " | ".join(f"{cnt[c]:>12}" for c in COLUMNS)
            + f" | {n:>5} | {pct:>9} | {right:>7}")


def print_gate(clear: list[CL.Claim], out: Any = print) -> None:
    """How far the TCAV directional-derivative gates are from what concepts the models ignore reach, per kind."""
    from pytest_modelaudit.core.tcav.layers import MIN_MAGNITUDE_Z, MIN_SINGLE_LAYER_Z

    groups: dict[tuple[str, str], dict[str, CL.Claim]] = defaultdict(dict)
    for c in clear:
        if c.kind in ("tcav", "tcav+contrast") and c.dd_z is not None:
            groups[(c.kind, c.band)].setdefault(c.group, c)  # one per evidence call
    if not groups:
        return
    out(f"\n== TCAV: directional derivative in pseudo-concept sd (gates: |z| >= {MIN_MAGNITUDE_Z:g} at every deciding "
        f"layer, {MIN_SINGLE_LAYER_Z:g} when one layer decides) ==")
    def largest(calls: list[CL.Claim], z: Callable[[CL.Claim], float]) -> str:
        if not calls:
            return "   -"
        top = max(calls, key=lambda c: abs(z(c)))
        return f"{abs(z(top)):5.1f} ({top.model} / {top.target} / {top.truth_name})"

    for (kind, band), cs in sorted(groups.items()):
        calls = list(cs.values())
        one = [c for c in calls if c.dd_layers == 1]
        several = [c for c in calls if c.dd_layers > 1]
        out(f"  {kind:14} truth {band:11}: {len(calls):3} evidence calls; one deciding layer ({len(one)}): "
            f"{largest(one, lambda c: c.dd_z)}; several ({len(several)}), at every one: "
            f"{largest(several, lambda c: c.dd_z_every)}, at the strongest: {largest(several, lambda c: c.dd_z)}")


def print_tables(claims: list[CL.Claim], out: Any = print) -> None:
    clear = [c for c in claims if c.clear_cut]
    by_kind: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for c in clear:
        by_kind[c.kind][c.ctype][c.outcome] += 1
    for kind, rows in by_kind.items():
        out(f"\n== {kind}: clear-cut claims ==")
        _table(dict(sorted(rows.items())), "claim", out)
    out("\n== Summary: clear-cut claims per evidence kind ==")
    summary = {kind: sum(rows.values(), Counter()) for kind, rows in by_kind.items()}
    _table(summary, "kind", out)
    graded = [c for c in claims if not c.clear_cut]
    if graded:
        out(f"\n== Graded claims (truth between the bands; listed, not counted): {len(graded)} ==")
        for c in graded:
            m = "-" if c.measured is None else f"{c.measured:.3f}"
            out(f"  {c.model:17} {c.kind:21} {c.claim[:92]:92} truth {c.truth_name}={c.truth:+.2f} "
                f"verdict {c.verdict:12} measured {m}")
    print_gate(clear, out)
    wrong = [c for c in clear if c.outcome in ("wrong PASS", "wrong FAIL", "ERROR")]
    out(f"\n== Wrong verdicts on clear-cut claims: {sum(c.outcome == 'wrong PASS' for c in wrong)} wrong PASS, "
        f"{sum(c.outcome == 'wrong FAIL' for c in wrong)} wrong FAIL, {sum(c.outcome == 'ERROR' for c in wrong)} ERROR ==")
    for c in wrong:
        m = "-" if c.measured is None else f"{c.measured:.3f}"
        out(f"  [{c.outcome}] {c.model} / {c.kind}: {c.claim}")
        out(f"      truth {c.truth_name} = {c.truth:+.3f} ({c.band}), expected {c.expected}, measured {m}")
        why = c.reason or c.detail
        if why:
            out(f"      {why.strip()[:400]}")
    undecidable = Counter((c.kind, c.undecidable) for c in clear if c.outcome == "undecidable")
    if undecidable:
        out("\n== INCONCLUSIVE where the audit's images cannot decide (from the scenes, not the verdicts) ==")
        for (kind, why), n in undecidable.most_common():
            out(f"  {n:4} x {kind}: {why}")
    inconclusive = Counter((c.kind, (c.reason or "")[:90]) for c in clear if c.outcome == "INCONCLUSIVE")
    if inconclusive:
        out("\n== INCONCLUSIVE on clear-cut claims, by reason ==")
        for (kind, why), n in inconclusive.most_common():
            out(f"  {n:4} x {kind}: {why}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fast", action="store_true", help=f"a small subset: {', '.join(FAST_MODELS)}, classes "
                    f"{FAST_TARGETS}, {', '.join(FAST_KINDS)}")
    ap.add_argument("--only", action="append", choices=CL.KINDS, help="run only this evidence kind (repeatable)")
    ap.add_argument("--models", nargs="+", choices=list(M.SPECS), help="run only these models")
    ap.add_argument("--check", action="store_true", help="exit 1 when a clear-cut claim got a wrong PASS")
    ap.add_argument("--root-seed", type=int, default=M.ROOT_SEED,
                    help=f"train (and cache) the models, scenes and concept sets from another root seed "
                         f"(default {M.ROOT_SEED}): an independent training, to see whether a gate holds beyond one")
    ap.add_argument("--json", type=Path, default=LATEST, help=f"where to write the claims (default {LATEST})")
    args = ap.parse_args(argv)
    M.ROOT_SEED = args.root_seed
    os.environ.setdefault("PYTHONHASHSEED", "0")
    import keras
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(M.ROOT_SEED)
    t0 = time.time()
    kinds = tuple(args.only) if args.only else (FAST_KINDS if args.fast else CL.KINDS)
    models = tuple(args.models) if args.models else (FAST_MODELS if args.fast else tuple(M.SPECS))
    targets = FAST_TARGETS if args.fast else None
    print(f"validity suite: models {', '.join(models)}; kinds {', '.join(kinds)}"
          f"{'; classes ' + str(targets) if targets else ''}; expect_opposes "
          f"{'available' if CL.has_opposes() else 'not available'}; tcav contrast= "
          f"{'available' if CL.has_contrast() else 'not available'}", flush=True)
    claims, summaries = collect(models, kinds, targets, log=lambda s: print(s, flush=True))
    seconds = time.time() - t0
    print_models(summaries)
    print_tables(claims)
    clear = [c for c in claims if c.clear_cut]
    wrong_pass = sum(c.outcome == "wrong PASS" for c in clear)
    print(f"\n{len(claims)} claims ({len(clear)} clear-cut, {len(claims) - len(clear)} graded) on {len(summaries)} "
          f"models in {seconds:.0f}s; clear-cut wrong PASS: {wrong_pass}")
    import pytest_modelaudit

    payload = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S"), "seconds": round(seconds, 1),
        "product_version": pytest_modelaudit.__version__, "root_seed": M.ROOT_SEED,
        "options": {"fast": args.fast, "only": args.only, "models": list(models)},
        "expect_opposes_available": CL.has_opposes(), "contrast_available": CL.has_contrast(),
        "bands": {"drop": T.DROP_BANDS, "probability": T.PROB_BANDS, "delta": T.DELTA_BANDS},
        "models": summaries,
        "summary": {kind: dict(Counter(c.outcome for c in clear if c.kind == kind)) for kind in
                    dict.fromkeys(c.kind for c in claims)},
        "claims": [c.to_json() for c in claims],
    }
    args.json.write_text(json.dumps(payload, indent=1, default=float))
    print(f"wrote {args.json}")
    return 1 if args.check and wrong_pass else 0


if __name__ == "__main__":
    sys.exit(main())
