"""The model behind one interface: load, preprocess, logits, probabilities, and every layer's activations and gradients captured in one batched traced pass."""
