"""TCAV: CAVs, scores from gradients computed once per layer, the pseudo-concept null and its statistics, and the checks that turn them into verdicts."""
