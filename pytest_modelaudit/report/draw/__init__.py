"""Drawing from recorded data only: heatmap overlays, outlines and thumbnails (overlays), SVG plots (plots)."""
