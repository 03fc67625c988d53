"""Verdicts (PASS / FAIL / INCONCLUSIVE / ERROR, thresholds) and the checks that turn heatmap and ablation results into them."""
