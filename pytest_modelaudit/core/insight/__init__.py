"""Data-level and model-insight evidence: predictions on labelled data, performance, embeddings,
disagreement between models, what channels and classes respond to, and the model panel's feature maps."""
