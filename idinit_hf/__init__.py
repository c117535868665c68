"""idinit_hf: IDInit (identity-based initialization, ICLR 2025) for Hugging Face transformers models.

    >>> from transformers import GPT2Config
    >>> import idinit_hf
    >>> model = idinit_hf.AutoModelForCausalLM.from_config(GPT2Config(n_layer=2, n_embd=64, init_method="idinit"))
    >>> idinit_hf.verify(model).ok
    True
"""

from . import models
from .diagnostics import (
    IdentityReport,
    JacobianReport,
    VerifyReport,
    identity_report,
    jacobian_spectrum,
    replica_report,
    replica_spread,
    verify,
)
from .families import FAMILIES, family_for, read_options, supported_model_types
from .init import (
    fused_blocks,
    idi_,
    idi_experts_,
    idi_heads_,
    idi_qkv_,
    idic_,
    idiz_,
    idiz_experts_,
    idizc_,
    loosen_,
    loosen_experts_,
)
from .install import apply_, install, installed, uninstall
from .mixin import IDInitMixin
from .models import AUTO_CLASSES, IDINIT_CLASS_NAMES, idinit_class  # noqa: F401 (in models.__all__)
from .models import __all__ as _model_names
from .options import INIT_METHODS, OPTIONS, IDInitOptions, validate_options
from .roles import FusedQKV, Role, Rule, Slot

__version__ = "0.1.0"

__all__ = [
    "idi_", "idi_heads_", "idiz_", "idic_", "idizc_", "loosen_", "fused_blocks", "idi_qkv_",
    "idi_experts_", "idiz_experts_", "loosen_experts_",
    "install", "uninstall", "installed", "apply_",
    "IDInitMixin", "IDInitOptions", "INIT_METHODS", "OPTIONS", "read_options", "validate_options",
    "Role", "Rule", "Slot", "FusedQKV", "FAMILIES", "family_for", "supported_model_types",
    "verify", "VerifyReport", "identity_report", "IdentityReport", "jacobian_spectrum", "JacobianReport",
    "replica_spread", "replica_report",
    *_model_names,
]


def __getattr__(name: str):
    """The Auto classes and the generated ``IDInit<stock name>`` classes of :mod:`idinit_hf.models`."""
    if name in AUTO_CLASSES or name in IDINIT_CLASS_NAMES:
        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
