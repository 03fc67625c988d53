"""What audits read and what they put in: image sets and masks, inputs at the model's size, regions, fills, the removal measure that says whether a fill removed a region, and concept libraries."""
