"""`make bench` (or `python benchmarks/run.py [gradcam] [ablation] [tcav] [occlusion] [saliency] [audit] [insight] [cache]`): each method's time as a ratio to its unavoidable passes, and the speed-up over the naive loop.

`audit` times whole heatmap audits (the evidence, the honesty checks, the companion maps), cold, against the
passes they need as counted by the code per phase (core/model/passes.py), and prints the breakdown.

`cache` times the example suite (example_audits/) as whole `pytest --model-audit` processes: cold cache,
then warm, then under xdist (-n 2); its ratio is warm / cold (target <= 0.25).

Every ratio is measured in the same run, on the same model and batch: a random-weight MobileNetV2 at
224x224 (no weights are downloaded). Times are medians of interleaved repetitions after a warm-up.
Writes benchmarks/latest.json: a list of {"name", "ratio_to_limit", "speedup_vs_naive", "detail"}.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
REPS = int(os.environ.get("BENCH_REPS", "5"))


def median_time(fn: Callable[[], Any], reps: int = REPS) -> float:
    fn()  # warm-up: tracing, allocation
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def interleaved(fns: dict[str, Callable[[], Any]], reps: int = REPS) -> dict[str, float]:
    """Median times of several functions measured in alternation, so drift hits them alike."""
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for k, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def mobilenet():
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3), classes=10)


def bench_gradcam(model: Any, images: np.ndarray) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from pytest_modelaudit.core import gradcam, load_model

    adapter = load_model(model, input_range=(-1, 1))
    layer = adapter.default_gradcam_layer()
    x = tf.constant(adapter.preprocess(images))
    forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
    t = interleaved({
        "limit": lambda: forward(x).numpy(),
        "ours": lambda: gradcam(adapter, images, 3),
    })
    # The naive loop (tf-keras-vis / keras.io style): a sub-model, one eager tape per image.
    sub = keras.Model(model.inputs, [model.get_layer(layer).output, model.output])
    n_naive = 8

    def naive() -> None:
        for i in range(n_naive):
            with tf.GradientTape() as tape:
                act, out = sub(x[i : i + 1], training=False)
                score = out[:, 3]
            g = tape.gradient(score, act)
            (act * tf.reduce_mean(g, axis=(1, 2), keepdims=True)).numpy()

    naive_per_image = median_time(naive, reps=3) / n_naive
    return {
        "name": "gradcam_mobilenetv2_224_b32",
        "ratio_to_limit": round(t["ours"] / t["limit"], 3),
        "speedup_vs_naive": round(naive_per_image * len(images) / t["ours"], 2),
        "detail": (f"Grad-CAM at '{layer}' on {len(images)} images (end to end: preprocess, capture, CAM) "
                   f"{t['ours']:.3f}s vs one traced forward pass of the batch {t['limit']:.3f}s; naive: eager "
                   f"sub-model + GradientTape per image, {naive_per_image * 1000:.0f} ms/image (timed on {n_naive}, "
                   f"scaled to {len(images)}); target ratio <= 1.3"),
    }


def bench_ablation(model: Any, images: np.ndarray) -> dict[str, Any]:
    import tensorflow as tf

    from pytest_modelaudit.core import load_model, region_ablation

    adapter = load_model(model, input_range=(-1, 1))
    n = len(images)
    masks = np.zeros(images.shape[:3], np.float32)
    masks[:, 56:168, 56:168] = 1.0
    fills = ["mean", "blur", "shuffle"]
    batch = 64
    count = n * (1 + 2 * len(fills))  # base once, then region replaced and region kept, per fill
    xs = adapter.preprocess(np.concatenate([images] * (count // n)))
    forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)

    def limit() -> None:
        for i in range(0, count, batch):
            forward(tf.constant(xs[i : i + batch])).numpy()

    t = interleaved({
        "limit": limit,
        "ours": lambda: region_ablation(adapter, images, 3, masks, fills=fills, batch_size=batch),
    }, reps=3)
    # The naive loop: build each variant in numpy and call model.predict on it, one image at a time.
    x = adapter.preprocess(images)
    n_naive = 12

    def naive() -> None:
        for i in range(n_naive):
            m = masks[i % n][..., None]
            variant = x[i % n] * (1 - m) + x.mean() * m
            model.predict(variant[None], verbose=0)

    naive_per_variant = median_time(naive, reps=2) / n_naive
    return {
        "name": "region_ablation_mobilenetv2_224",
        "ratio_to_limit": round(t["ours"] / t["limit"], 3),
        "speedup_vs_naive": round(naive_per_variant * count / t["ours"], 2),
        "detail": (f"{n} images x 3 fills x (region replaced, region kept) + base = {count} forward passes, "
                   f"end to end {t['ours']:.3f}s vs the same {count} forwards in traced batches of {batch} "
                   f"{t['limit']:.3f}s; naive: one model.predict per variant, {naive_per_variant * 1000:.0f} ms each "
                   f"(timed on {n_naive}, scaled to {count}); target ratio <= 1.2"),
    }


def bench_tcav(model: Any) -> dict[str, Any]:
    """3 concepts and 20 random sets of 50 images, 50 target images, 2 layers, 1 class."""
    import tensorflow as tf

    from pytest_modelaudit.core import load_model
    from pytest_modelaudit.core.cache.memory import MemoryCache
    from pytest_modelaudit.core.data.concepts import ConceptLibrary
    from pytest_modelaudit.core.tcav.scores import tcav
    from pytest_modelaudit.core.tcav.cav import train_cav

    adapter = load_model(model, input_range=(-1, 1))
    layers = ["block_13_expand_relu", "out_relu"]
    rng = np.random.default_rng(1)
    n, n_random, concepts = 50, 20, ["striped", "dotted", "zigzag"]

    def images(k: int) -> np.ndarray:
        return (rng.random((k, 224, 224, 3), dtype=np.float32) * rng.random(3, dtype=np.float32)).astype(np.float32)

    sets = {c: images(n) for c in concepts}
    sets.update({f"random500_{j}": images(n) for j in range(n_random)})
    sets["target"] = images(n)
    lib = ConceptLibrary.from_arrays(sets, min_images=n)
    total_images = sum(len(v) for v in sets.values())

    def ours() -> None:
        cache = MemoryCache()
        for c in concepts:
            tcav(adapter, 3, c, layers=layers, concepts=lib, target_images=sets["target"], cache=cache)

    # The unavoidable passes: every image forward once, the target images backward once per layer.
    forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
    everything = np.concatenate(list(sets.values()))
    xs = adapter.preprocess(everything)

    def forward_all() -> None:
        for i in range(0, len(xs), 64):
            forward(tf.constant(xs[i : i + 64])).numpy()

    t_fwd = median_time(forward_all, reps=1)
    t_fwd_target = median_time(lambda: forward(tf.constant(xs[-n:])).numpy(), reps=3)
    # backward = forward+backward to the layer minus the forward (clamped: timing noise can make it negative)
    t_back = sum(max(0.0, median_time(lambda l=l: adapter.capture(sets["target"], [l], 3), reps=3) - t_fwd_target)
                 for l in layers)
    limit = t_fwd + t_back
    t_ours = median_time(ours, reps=1)
    # The naive loop (Xplique's strategy) on a reduced case: per CAV, the layer's activations of both sets by a
    # forward pass, the fit, and the target images' gradients recomputed in batches. Timed on one CAV per layer,
    # scaled to the CAVs of the full experiment with no sharing: 3 claims x 2 layers x (20 concept + 20 baseline).
    per_cav = []
    for layer in layers:
        def one_cav(layer: str = layer) -> None:
            (a,) = adapter.activations(sets["striped"], [layer])
            (b,) = adapter.activations(sets["random500_0"], [layer])
            cav = train_cav(a, b, concept="striped", negative="random500_0", seed=0)
            _, _, (g,) = adapter.capture(sets["target"], [layer], 3)
            (g.reshape(len(g), -1) @ cav.vector > 0).mean()
        per_cav.append(median_time(one_cav, reps=3))
    n_cavs = len(concepts) * (n_random + n_random)
    naive = sum(per_cav) * n_cavs
    return {
        "name": "tcav_mobilenetv2_224_3c_20r_2l",
        "ratio_to_limit": round(t_ours / limit, 3),
        "speedup_vs_naive": round(naive / t_ours, 2),
        "detail": (f"3 concept claims x {len(layers)} layers ({', '.join(layers)}), {n_random} random sets, {n} images "
                   f"per set ({total_images} images), 1 class: {t_ours:.1f}s end to end (activations, gradients, "
                   f"{len(concepts) * n_random * len(layers)} concept + {n_random * (n_random - 1) // 2 * len(layers)} shared "
                   "random-pair CAVs for the pseudo-concept null, "
                   f"statistics) vs unavoidable passes {limit:.1f}s (forward over every image once {t_fwd:.1f}s + "
                   f"target backward once per layer {t_back:.1f}s); naive = Xplique's strategy measured on a reduced "
                   f"case (one CAV per layer: {', '.join(f'{t:.2f}s' for t in per_cav)}) and scaled to the "
                   f"{n_cavs * len(layers)} CAVs the experiment needs without gradient or baseline sharing; target "
                   f"ratio <= 1.5, speed-up >= 20"),
    }


def bench_occlusion(model: Any, images: np.ndarray) -> dict[str, Any]:
    """Patch 32, stride 16 (169 windows per image) on 8 images; memory must not grow with the windows."""
    import tracemalloc

    import tensorflow as tf

    from pytest_modelaudit.core import load_model
    from pytest_modelaudit.core.heatmaps.occlusion import occlusion, window_starts

    adapter = load_model(model, input_range=(-1, 1))
    imgs = images[:8]
    batch = 64
    windows = len(window_starts(224, 32, 16)) ** 2
    count = len(imgs) * windows
    x = adapter.preprocess(imgs)
    forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
    reps = np.repeat(x, -(-batch // len(x)), axis=0)[:batch]

    def limit() -> None:
        for _ in range(0, count, batch):
            forward(tf.constant(reps)).numpy()

    t = interleaved({"limit": limit, "ours": lambda: occlusion(adapter, imgs, 3, patch=32, stride=16, batch_size=batch)},
                    reps=1)
    n_naive = 16

    def naive() -> None:
        for k in range(n_naive):
            variant = x[k % len(x)].copy()
            y0, x0 = divmod(k, 13)
            variant[y0 * 16 : y0 * 16 + 32, x0 * 16 : x0 * 16 + 32] = 0.0
            model.predict(variant[None], verbose=0)

    naive_each = median_time(naive, reps=1) / n_naive
    peaks = {}
    for stride in (16, 8):
        tracemalloc.start()
        occlusion(adapter, imgs[:1], 3, patch=32, stride=stride, batch_size=batch)
        peaks[len(window_starts(224, 32, stride)) ** 2] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    mem = ", ".join(f"{w} windows: {p:.0f} MiB" for w, p in peaks.items())
    return {
        "name": "occlusion_mobilenetv2_224_p32_s16_8img",
        "ratio_to_limit": round(t["ours"] / t["limit"], 3),
        "speedup_vs_naive": round(naive_each * count / t["ours"], 2),
        "detail": (f"{len(imgs)} images x {windows} windows = {count} occluded forwards, end to end {t['ours']:.1f}s vs "
                   f"{count} forwards in traced batches of {batch} {t['limit']:.1f}s; naive: one model.predict per "
                   f"occluded image, {naive_each * 1000:.0f} ms each (timed on {n_naive}, scaled to {count}); peak "
                   f"host memory of one image's map (tracemalloc, numpy side; TF batches are fixed at {batch}): {mem}; "
                   "targets: ratio <= 1.15, speed-up >= 10"),
    }


def bench_smoothgrad_ig(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    """SmoothGrad (n=25) and Integrated Gradients (steps=32) on 8 images against their backward passes."""
    import tensorflow as tf

    from pytest_modelaudit.core import load_model
    from pytest_modelaudit.core.heatmaps import integrated_gradients, smoothgrad

    adapter = load_model(model, input_range=(-1, 1))
    imgs = images[:8]
    x = adapter.preprocess(imgs)
    batch = 32

    @tf.function(reduce_retracing=True)
    def grad(t: Any) -> Any:
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(t)
            score = tf.reduce_sum(model(t, training=False)[:, 3])
        return tape.gradient(score, t)

    def passes(count: int) -> Callable[[], None]:
        reps = np.repeat(x, -(-batch // len(x)), axis=0)[:batch]

        def run() -> None:
            for _ in range(0, count, batch):
                grad(tf.constant(reps)).numpy()
        return run

    rows = []
    for name, count, fn, what in (
        ("smoothgrad_mobilenetv2_224_n25_8img", 25 * len(imgs),
         lambda: smoothgrad(adapter, imgs, 3, samples=25, batch_size=batch), "SmoothGrad n=25"),
        ("integrated_gradients_mobilenetv2_224_s32_8img", 32 * len(imgs),
         lambda: integrated_gradients(adapter, imgs, 3, steps=32, batch_size=batch), "Integrated Gradients steps=32"),
    ):
        t = interleaved({"limit": passes(count), "ours": fn}, reps=1)
        # naive: one eager tape per noisy sample / path point, one image at a time (the tutorial loop)
        n_naive = 8

        def naive() -> None:
            for k in range(n_naive):
                v = tf.constant(x[k % len(x)][None])
                with tf.GradientTape() as tape:
                    tape.watch(v)
                    score = model(v, training=False)[:, 3]
                tape.gradient(score, v).numpy()

        each = median_time(naive, reps=1) / n_naive
        rows.append({
            "name": name,
            "ratio_to_limit": round(t["ours"] / t["limit"], 3),
            "speedup_vs_naive": round(each * count / t["ours"], 2),
            "detail": (f"{what} on {len(imgs)} images: {count} forward+backward passes to the input, end to end "
                       f"{t['ours']:.1f}s vs the same passes in traced batches of {batch} {t['limit']:.1f}s"
                       + (" (plus 16 forwards for the completeness check)" if "Integrated" in what else "")
                       + f"; naive: one eager tape per image and point, {each * 1000:.0f} ms each (timed on "
                       f"{n_naive}, scaled to {count}); target ratio <= 1.2"),
        })
    return rows


PHASES = ("evidence", "randomisation", "class sensitivity", "faithfulness", "stability", "companions", "rendering",
          "other")


def _per_image_pass_times(adapter: Any, images: np.ndarray, layer: str, batch: int = 32) -> tuple[float, float]:
    """Seconds per image of a plain batched traced forward pass, and of a forward and backward pass (to `layer`
    and to the input: the dearer of the two), on this model."""
    import tensorflow as tf

    model = adapter.model
    x = adapter.preprocess(np.resize(images, (batch,) + images.shape[1:]).astype(np.float32))
    forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)

    @tf.function(reduce_retracing=True)
    def backward(t: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(t)
            out = model(t, training=False)
            total = tf.reduce_sum(out[:, 0])
        return tape.gradient(total, t)

    t_f = median_time(lambda: forward(tf.constant(x)).numpy(), reps=5)
    t_b = max(median_time(lambda: backward(tf.constant(x)).numpy(), reps=5),
              median_time(lambda: adapter.capture(images[:batch], [layer], 0, batch_size=batch), reps=3))
    return t_f / batch, t_b / batch


def _audit_row(name: str, what: str, adapter: Any, images: Any, run: Callable[[Any], Any],
               layer: str) -> dict[str, Any]:
    """One whole heatmap audit through the public API, cold (no cache), default honesty: its wall time against
    the passes its evidence, honesty checks and companions need (counted by the code, per phase), each timed
    as plain batched passes on the same model in the same run."""
    import tempfile

    from pytest_modelaudit.core.cache.memory import SESSION_CACHE
    from pytest_modelaudit.core.model.passes import phase, tally
    from pytest_modelaudit.errors import AuditFailure, AuditInconclusive
    from pytest_modelaudit.plugin.audit import Audit
    from pytest_modelaudit.plugin.options import Settings
    from pytest_modelaudit.plugin.records import check_json

    settings = Settings(enabled=True, report_dir=Path(tempfile.mkdtemp(prefix="bench-audit-")), pdf=False, seed=0,
                        inconclusive="fail")
    arrays = np.asarray(getattr(images, "images", images), np.float32)
    t_f, t_b = _per_image_pass_times(adapter, arrays, layer)
    verdict = "?"
    # cold as a user's first audit is: an empty session cache, on (what one audit reuses of its own work counts)
    before = SESSION_CACHE.enabled
    SESSION_CACHE.clear()
    SESSION_CACHE.enabled = True
    try:
        with tally() as counted:
            t0 = time.perf_counter()
            audit = Audit(f"benchmarks::{name}", settings)
            try:
                run(audit)
            except (AuditFailure, AuditInconclusive):
                pass
            with phase("rendering"):  # the audit's record: thumbnails, overlays, curves (what the plugin stores)
                [check_json(c, audit.message(c)) for c in audit.checks]
            wall = time.perf_counter() - t0
            verdict = audit.checks[-1].status.value if audit.checks else "none"
    finally:
        SESSION_CACHE.clear()
        SESSION_CACHE.enabled = before
    limit = counted.forward * t_f + counted.backward * t_b
    companions = counted.phases["companions"].seconds if "companions" in counted.phases else 0.0
    parts = []
    for p in PHASES + tuple(k for k in counted.phases if k not in PHASES):
        if p not in counted.phases:
            continue
        ph = counted.phases[p]
        lim = ph.forward * t_f + ph.backward * t_b
        parts.append(f"{p} {ph.seconds:.2f}s ({ph.forward} fwd + {ph.backward} fwd+bwd images = {lim:.2f}s of passes)")
    return {
        "name": name,
        "ratio_to_limit": round(wall / limit, 3) if limit > 0 else None,
        "speedup_vs_naive": None,
        "detail": (f"{what}: cold, default honesty, verdict {verdict}: {wall:.2f}s end to end vs {limit:.2f}s of "
                   f"passes ({counted.forward} images forward at {t_f * 1000:.1f} ms + {counted.backward} forward and "
                   f"backward at {t_b * 1000:.1f} ms, plain batched calls timed in this run); by phase: "
                   + "; ".join(parts) + f"; {companions:.2f}s of it are the companion maps and curves, left out by "
                   "--model-audit-companions=off; target ratio <= 1.5"),
        "phases": {k: {"seconds": round(v.seconds, 3), "forward": v.forward, "backward": v.backward}
                   for k, v in counted.phases.items()},
    }


def bench_audits(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    """Whole Grad-CAM and occlusion audits (`expect_lift` with the default honesty checks) on the bench model
    and on the shipped leopard example model."""
    from pytest_modelaudit import load_images, load_model

    rows = []
    bench = load_model(model, input_range=(-1, 1), name="mobilenetv2")
    imgs = images[:8]
    region = np.zeros(imgs.shape[:3], np.float32)
    region[:, 56:168, 56:168] = 1.0
    layer = bench.default_gradcam_layer()
    rows.append(_audit_row("audit_gradcam_mobilenetv2_224", "Grad-CAM audit, MobileNetV2 224x224, 8 images", bench,
                           imgs, lambda a: a.gradcam(bench, imgs, 3).expect_lift(region=region, at_least=1.0),
                           layer))
    few, few_region = imgs[:4], region[:4]  # occlusion's windows and its honesty copies: 4 images are minutes already
    rows.append(_audit_row("audit_occlusion_mobilenetv2_224", "occlusion audit (patch 32, stride 16), MobileNetV2 "
                           "224x224, 4 images", bench, few,
                           lambda a: a.occlusion(bench, few, 3, patch=32, stride=16).expect_lift(region=few_region,
                                                                                                at_least=1.0), layer))
    ex = HERE.parent / "example_audits"
    leopard = load_model(ex / "models" / "leopard_shortcut.keras", classes=ex / "models" / "classes.txt",
                         input_range=(0, 1), name="leopard_shortcut")
    snow = load_images(ex / "data" / "leopards_on_snow", masks=True)
    layer = leopard.default_gradcam_layer()
    rows.append(_audit_row("audit_gradcam_leopard_example", f"Grad-CAM audit, shipped leopard_shortcut model, "
                           f"{len(snow.images)} images", leopard, snow,
                           lambda a: a.gradcam(leopard, snow, target="leopard").expect_lift(
                               region=snow.masks, region_name="snow", at_most=1.0), layer))
    rows.append(_audit_row("audit_occlusion_leopard_example", f"occlusion audit, shipped leopard_shortcut model, "
                           f"{len(snow.images)} images", leopard, snow,
                           lambda a: a.occlusion(leopard, snow, target="leopard", patch=8, fill=0.5).expect_lift(
                               region=snow.masks, region_name="snow", at_most=1.0), layer))
    return rows


def _tree_rss_mib(root: int) -> tuple[float, float]:
    """Resident memory of a process and its descendants (from /proc): the largest one's and their sum, MiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        rss[int(entry)] = next((int(line.split()[1]) / 1024 for line in status.splitlines()
                                if line.startswith("VmRSS:")), 0.0)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    values = [rss.get(pid, 0.0) for pid in tree]
    return max(values, default=0.0), sum(values)


def _pytest_run(args: list[str], report: Path) -> tuple[float, dict[str, Any]]:
    """Wall time of one whole `pytest --model-audit` process on the example suite, and its results.json with the
    peak resident memory of its processes (sampled from /proc every 50 ms: the largest process, and all of them
    together, xdist workers included) under "peak_rss_mib" and "peak_rss_total_mib". The kernel's ru_maxrss
    cannot be used: a forked child starts with its parent's high-water mark (this benchmark's own ~5 GiB)."""
    import subprocess
    import tempfile

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "pytest", "example_audits", "--ignore=example_audits/claims", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
           "--model-audit", f"--model-audit-report={report}", *args]
    peak = total = 0.0
    with tempfile.TemporaryFile("w+") as log:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=HERE.parent, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        while proc.poll() is None:
            one, together = _tree_rss_mib(proc.pid)
            peak, total = max(peak, one), max(total, together)
            time.sleep(0.05)
        elapsed = time.perf_counter() - t
        log.seek(0)
        output = log.read()
    if proc.returncode not in (0, 1) or not (report / "results.json").is_file():
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-6000:]}")
    results = json.loads((report / "results.json").read_text())
    results["peak_rss_mib"], results["peak_rss_total_mib"] = peak, total
    return elapsed, results


def _verdicts(results: dict[str, Any]) -> dict[str, Any]:
    return {a["nodeid"]: (a["status"], a["metrics"]) for a in results["audits"]}


def _suite_passes(results: dict[str, Any]) -> dict[str, Any]:
    """What the passes a run's audits recorded (results.json `passes`, per model) take as plain batched calls
    timed here on each model, in all and for the dearest audits: the least any run of these checks can cost."""
    from pytest_modelaudit import load_model

    per_image: dict[str, tuple[float, float]] = {}
    for fp in {fp for a in results["audits"] for fp in (a.get("passes") or {}).get("by_model", {})}:
        source = HERE.parent / results["models"][fp]["source"]
        adapter = load_model(source)  # what a pass costs does not depend on the input range or the labels
        images = np.random.default_rng(0).random((32, *adapter.input_shape), dtype=np.float32)
        per_image[fp] = _per_image_pass_times(adapter, images, adapter.default_gradcam_layer())
    by_audit = {}
    for a in results["audits"]:
        spent = (a.get("passes") or {}).get("by_model", {})
        by_audit[a["nodeid"]] = sum(m["forward"] * per_image[fp][0] + m["forward_backward"] * per_image[fp][1]
                                    for fp, m in spent.items())
    name = {fp: results["models"][fp]["name"] for fp in per_image}
    return {"seconds": sum(by_audit.values()), "by_audit": by_audit,
            "per_image_ms": {name[fp]: (round(f * 1000, 2), round(b * 1000, 2)) for fp, (f, b) in per_image.items()},
            "forward": sum((a.get("passes") or {}).get("forward", 0) for a in results["audits"]),
            "forward_backward": sum((a.get("passes") or {}).get("forward_backward", 0) for a in results["audits"])}


def bench_cache() -> list[dict[str, Any]]:
    """The example suite cold vs warm cache (whole processes), what the warm run still spends, and -n 2 vs -n 0."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="model-audit-bench-") as tmp:
        root = Path(tmp)

        def run(name: str, cache: str, *extra: str) -> tuple[float, dict[str, Any]]:
            took, res = _pytest_run([f"--model-audit-cache-dir={root / cache}", *extra], root / name)
            print(f"    {name}: {took:.1f}s, cache {res['run']['cache']}", flush=True)
            return took, res

        cold, cold_res = run("cold", "c0")
        warm, warm_res = run("warm", "c0")
        warm_nopdf, _ = run("warm-no-pdf", "c0", "--model-audit-no-pdf")
        cold2, cold2_res = run("cold-n2", "c2", "-n", "2")
        warm2, warm2_res = run("warm-n2", "c2", "-n", "2")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tensorflow, keras"], check=True, capture_output=True,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        tf_import = time.perf_counter() - t
    first = _verdicts(cold_res)
    differ = sorted({k for r in (warm_res, cold2_res, warm2_res) for k, v in _verdicts(r).items() if first.get(k) != v})
    if differ:
        raise RuntimeError(f"the warm or xdist runs gave other verdicts or numbers than the cold run: {differ}")
    audits = {k: sum(a["duration_s"] for a in r["audits"]) for k, r in (("cold", cold_res), ("warm", warm_res))}
    floor = _suite_passes(cold_res)
    pdf = max(warm - warm_nopdf, 0.0)
    least = floor["seconds"] + tf_import + pdf
    dearest = sorted(floor["by_audit"].items(), key=lambda kv: -kv[1])[:4]
    c = warm_res["run"]["cache"]
    if c["misses"]:  # the evidence code (part of every key) or the suite changed between the runs
        print(f"    warning: the warm run recomputed {c['misses']} entries; its time is not a warm-cache time", flush=True)
    return [{
        "name": "cache_example_suite_warm_vs_cold",
        "ratio_to_limit": round(warm / cold, 3),
        "speedup_vs_naive": round(cold / warm, 2),
        "detail": (f"{len(cold_res['audits'])} example audits as whole pytest processes: cold cache {cold:.1f}s, warm "
                   f"{warm:.1f}s (ratio warm/cold, target <= 0.25; speed-up = cold/warm); verdicts and numbers "
                   f"identical. Warm run: {c['disk_hits']} disk hits, {c['misses']} misses. Time inside the audit tests "
                   f"(call phases) cold {audits['cold']:.1f}s -> warm {audits['warm']:.1f}s. What the warm run still "
                   f"spends: importing TensorFlow + Keras {tf_import:.1f}s (a separate process), the PDF "
                   f"{warm - warm_nopdf:.1f}s (warm run without PDF {warm_nopdf:.1f}s). Peak resident memory: cold "
                   f"{cold_res['peak_rss_mib']:.0f} MiB, warm {warm_res['peak_rss_mib']:.0f} MiB, -n 2 cold "
                   f"{cold2_res['peak_rss_mib']:.0f} MiB per worker, {cold2_res['peak_rss_total_mib']:.0f} MiB "
                   "all processes together"),
        "times_s": {"cold": round(cold, 2), "warm": round(warm, 2), "warm_no_pdf": round(warm_nopdf, 2),
                    "tf_import": round(tf_import, 2), "audit_calls_cold": round(audits["cold"], 2),
                    "audit_calls_warm": round(audits["warm"], 2)},
        "peak_rss_mib": {"cold": round(cold_res["peak_rss_mib"]), "warm": round(warm_res["peak_rss_mib"]),
                         "n2_cold": round(cold2_res["peak_rss_mib"]),
                         "n2_cold_total": round(cold2_res["peak_rss_total_mib"])},
    }, {
        "name": "example_suite_cold_vs_its_passes",
        "ratio_to_limit": round(cold / least, 3),
        "speedup_vs_naive": None,
        "detail": (f"the cold run ({cold:.1f}s) against the least a cold run of these audits can take on this "
                   f"machine, {least:.1f}s: the passes its audits recorded ({floor['forward']} images forward + "
                   f"{floor['forward_backward']} forward and backward) as plain batched calls timed here "
                   f"{floor['seconds']:.1f}s (ms per image forward, forward+backward: "
                   + ", ".join(f"{k} {f}, {b}" for k, (f, b) in floor["per_image_ms"].items())
                   + f"), importing TensorFlow + Keras {tf_import:.1f}s and the PDF {pdf:.1f}s; the rest "
                   f"({cold - least:.1f}s) is Python around the passes, model loading, the HTML and JSON, pytest. "
                   "Dearest audits, as passes: " + "; ".join(f"{k.split('/')[-1]} {v:.1f}s" for k, v in dearest)),
        "times_s": {"cold": round(cold, 2), "least": round(least, 2), "passes": round(floor["seconds"], 2),
                    "tf_import": round(tf_import, 2), "pdf": round(pdf, 2)},
    }, {
        "name": "example_suite_xdist_n2_vs_n0",
        "ratio_to_limit": round(cold2 / cold, 3),
        "speedup_vs_naive": round(cold / cold2, 2),
        "detail": (f"example suite, -n 2 vs -n 0 (not a target on a 2-core machine): cold cache {cold2:.1f}s vs "
                   f"{cold:.1f}s, warm {warm2:.1f}s vs {warm:.1f}s (ratio = -n 2 / -n 0, cold); every worker imports "
                   "TensorFlow and loads the models; both workers share one cache folder"),
        "times_s": {"n0_cold": round(cold, 2), "n0_warm": round(warm, 2), "n2_cold": round(cold2, 2),
                    "n2_warm": round(warm2, 2)},
    }]


def bench_insight(model: Any, images: np.ndarray) -> list[dict[str, Any]]:
    """The insight evidence (issue 13): each module's rows, timed against the passes it needs."""
    import importlib

    return [r for name in INSIGHT_BENCHES for r in importlib.import_module(name).rows(model, images)]


# benchmarks/<name>.py, each with rows(model, images) -> list of rows like the others
INSIGHT_BENCHES = ("insight_data", "insight_disagreement", "insight_features")


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'benchmark':<36} {'ratio_to_limit':>15} {'speedup_vs_naive':>17}"]
    for r in rows:
        ratio, speedup = r["ratio_to_limit"], r["speedup_vs_naive"]
        lines.append(f"{r['name']:<36} {'-' if ratio is None else f'{ratio:.3f}':>15} "
                     f"{'-' if speedup is None else f'{speedup:.2f}':>17}")
        lines.append(f"    {r['detail']}")
    return "\n".join(lines)


def main() -> int:
    import tensorflow as tf

    from pytest_modelaudit.core.cache.memory import SESSION_CACHE

    print(f"TensorFlow {tf.__version__}, devices: {[d.device_type for d in tf.config.list_physical_devices()]}", flush=True)
    SESSION_CACHE.enabled = False  # the method benchmarks time computations, not cache hits
    only = set(sys.argv[1:])
    model = mobilenet() if not only or only - {"cache"} else None
    rng = np.random.default_rng(0)
    images = rng.random((32, 224, 224, 3), dtype=np.float32)
    rows = []
    for name, fn in (("gradcam", lambda: [bench_gradcam(model, images)]),
                     ("ablation", lambda: [bench_ablation(model, images)]),
                     ("tcav", lambda: [bench_tcav(model)]),
                     ("occlusion", lambda: [bench_occlusion(model, images)]),
                     ("saliency", lambda: bench_smoothgrad_ig(model, images)),
                     ("audit", lambda: bench_audits(model, images)),
                     ("insight", lambda: bench_insight(model, images)),
                     ("cache", bench_cache)):
        if not only or name in only:
            rows.extend(fn())
            print(f"  done: {name}", flush=True)
    out = HERE / "latest.json"
    if only and out.exists():  # a subset run replaces its own rows and keeps the others
        fresh = {r["name"] for r in rows}
        rows = [r for r in json.loads(out.read_text()) if r["name"] not in fresh] + rows
    out.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
