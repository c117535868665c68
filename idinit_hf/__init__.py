"""idinit_hf: IDInit (identity-based initialization, ICLR 2025) for Hugging Face transformers models.

    >>> from transformers import GPT2Config
    >>> import idinit_hf
    >>> model = idinit_hf.AutoModelForCausalLM.from_config(GPT2Config(n_layer=2, n_embd=64, init_method="idinit"))
    >>> idinit_hf.verify(model).ok
    True
"""

from .diagnostics import (
    IdentityReport,
    JacobianReport,
    VerifyReport,
    identity_report,
    jacobian_spectrum,
    verify,
)
from .families import FAMILIES, family_for, read_options, supported_model_types
from .init import fused_blocks, idi_, idic_, idiz_, idizc_, loosen_
from .mixin import IDInitMixin
from .models import *  # noqa: F403 (the model and Auto classes, listed in models.__all__)
from .models import __all__ as _model_names
from .options import INIT_METHODS, OPTIONS, IDInitOptions, validate_options
from .roles import Role, Rule, Slot

__version__ = "0.1.0"

__all__ = [
    "idi_", "idiz_", "idic_", "idizc_", "loosen_", "fused_blocks",
    "IDInitMixin", "IDInitOptions", "INIT_METHODS", "OPTIONS", "read_options", "validate_options",
    "Role", "Rule", "Slot", "FAMILIES", "family_for", "supported_model_types",
    "verify", "VerifyReport", "identity_report", "IdentityReport", "jacobian_spectrum", "JacobianReport",
    *_model_names,
]
