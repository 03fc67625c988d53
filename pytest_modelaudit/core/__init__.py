"""Evidence core: model adapter, methods and checks over arrays. No pytest in here (errors: ../errors.py)."""
from .ablation import AblationResult, region_ablation
from .model.adapter import ModelAdapter, load_model
from .checks.ablation import drop_check, region_only_check
from .checks.heatmap import share_check
from .heatmaps.gradcam import GradCAMResult, gradcam
from .data.images import ImageSet, load_images
from .checks.verdicts import Check, Status, Threshold

__all__ = [
    "AblationResult", "Check", "GradCAMResult", "ImageSet", "ModelAdapter", "Status", "Threshold",
    "drop_check", "gradcam", "load_images", "load_model", "region_ablation", "region_only_check", "share_check",
]
