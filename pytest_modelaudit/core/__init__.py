"""Evidence core: model adapter, methods and checks over arrays. No pytest in here."""
from .ablation import AblationResult, region_ablation
from .adapter import ModelAdapter, load_model
from .checks import drop_check, region_only_check, share_check
from .errors import (ClassNotFoundError, ImageLoadError, LayerNotFoundError, ModelAuditError,
                     ModelLoadError)
from .gradcam import GradCAMResult, gradcam
from .images import ImageSet, load_images
from .verdicts import Check, Status, Threshold

__all__ = [
    "AblationResult", "Check", "ClassNotFoundError", "GradCAMResult", "ImageLoadError", "ImageSet",
    "LayerNotFoundError", "ModelAdapter", "ModelAuditError", "ModelLoadError", "Status", "Threshold",
    "drop_check", "gradcam", "load_images", "load_model", "region_ablation", "region_only_check", "share_check",
]
