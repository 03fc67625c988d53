"""Is a heatmap honest on this model: randomisation and class sensitivity, deletion / insertion curves, stability under noise, and the companion maps of other methods."""
