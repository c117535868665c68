"""pytest plugin: run transformers' own model tests against idinit_hf's IDInit classes.

The mode comes from the environment variable HFH_MODE:

* ``stock``          nothing is changed (the baseline);
* ``idinit``         every model class a test uses is replaced by its IDInit class (``idinit_hf.models.idinit_class``),
                     every config the model tester makes gets ``init_method="idinit"``, and ``idinit_hf.install()``
                     makes transformers' Auto classes build IDInit classes too;
* ``idinit-absent``  the same class replacement and ``install()``, but configs are left as the tester makes them
                     (no ``init_method``): the IDInit classes must then be exactly stock.

What is replaced (only stock classes of model types that idinit_hf's registry covers, so that a test that also
builds, say, an encoder of another architecture keeps that one stock):

* module globals of the test module that name a covered stock model class (``GPT2LMHeadModel`` used inside the
  tester's ``create_and_check_*`` methods);
* on the test class: ``all_model_classes``, ``all_generative_model_classes`` (when a plain attribute),
  ``pipeline_model_mapping`` and any other class attribute holding a covered model class;
* on the model tester (instance and class, after the stock ``__init__`` has inferred its classes): every attribute
  holding a covered model class (``base_model_class``, ``causal_lm_class``, ...);
* the model tester's methods that return configs (``get_config``, ``get_*config*``, ``prepare_config*``) are wrapped
  so that every config they return (also inside tuples, lists and dicts) carries ``init_method="idinit"``
  (mode ``idinit`` only).

Nothing in idinit_hf or transformers is edited; everything is done by attribute assignment inside this process.
"""

from __future__ import annotations

import functools
import inspect
import os
import re

import pytest

MODE = os.environ.get("HFH_MODE", "stock")
MODES = ("stock", "idinit", "idinit-absent")
if MODE not in MODES:
    raise pytest.UsageError(f"HFH_MODE must be one of {MODES}, got {MODE!r}")

_CONFIG_METHOD = re.compile(r"^(get_\w*config\w*|prepare_config\w*)$")
_PATCHED = "_hfh_patched"


def pytest_configure(config):
    import torch

    torch.set_num_threads(int(os.environ.get("HFH_TORCH_THREADS", "1")))
    config.addinivalue_line("markers", "generate: generation tests (transformers)")
    config.addinivalue_line("markers", "flash_attn_test: flash attention tests (transformers)")
    config.addinivalue_line("markers", "flash_attn_3_test: flash attention 3 tests (transformers)")
    config.addinivalue_line("markers", "torch_compile_test: torch.compile tests (transformers)")
    config.addinivalue_line("markers", "torch_export_test: torch.export tests (transformers)")
    config.addinivalue_line("markers", "training_ci: training tests (transformers)")
    if MODE != "stock":
        import idinit_hf

        idinit_hf.install()
    config._hfh_mode = MODE


def pytest_report_header(config):
    line = f"hfharness mode: {MODE}"
    if MODE != "stock":
        import transformers

        import idinit_hf

        line += f" (idinit_hf from {os.path.dirname(idinit_hf.__file__)}, transformers {transformers.__version__})"
    return line


# ---------------------------------------------------------------------------------------------------------------
# the replacement
# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def _covered_types() -> frozenset[str]:
    from idinit_hf.families import supported_model_types

    return frozenset(supported_model_types())


def _is_covered_model_class(obj) -> bool:
    from transformers import PreTrainedModel

    if not (isinstance(obj, type) and issubclass(obj, PreTrainedModel)):
        return False
    from idinit_hf.mixin import IDInitMixin

    if issubclass(obj, IDInitMixin):
        return False
    model_type = getattr(getattr(obj, "config_class", None), "model_type", None)
    return model_type in _covered_types()


def _swap(obj):
    """The IDInit class for a covered stock model class; containers mapped element-wise; anything else as is."""
    from idinit_hf.models import idinit_class

    if _is_covered_model_class(obj):
        return idinit_class(obj)
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_swap(o) for o in obj)
    if isinstance(obj, list):
        return [_swap(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _swap(v) for k, v in obj.items()}
    return obj


def _contains_covered(obj) -> bool:
    if _is_covered_model_class(obj):
        return True
    if isinstance(obj, (tuple, list)):
        return any(_is_covered_model_class(o) for o in obj)
    if isinstance(obj, dict):
        return any(_is_covered_model_class(v) for v in obj.values())
    return False


def _mark_configs(obj, seen=None):
    """Set ``init_method="idinit"`` on every config of a covered model type found in ``obj``."""
    from transformers import PretrainedConfig

    if isinstance(obj, PretrainedConfig):
        if getattr(obj, "model_type", None) in _covered_types():
            obj.init_method = "idinit"
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _mark_configs(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            _mark_configs(o)
    return obj


def _wrap_config_method(method):
    if getattr(method, _PATCHED, False):
        return method

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        return _mark_configs(method(*args, **kwargs))

    setattr(wrapper, _PATCHED, True)
    return wrapper


def _patch_tester(tester) -> None:
    """Swap the model classes a model tester holds (instance and class) and, in mode idinit, wrap its config
    factories."""
    cls = type(tester)
    for name, value in list(vars(tester).items()):
        if _contains_covered(value):
            setattr(tester, name, _swap(value))
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in list(vars(klass).items()):
            if isinstance(value, (property, staticmethod, classmethod)) or callable(value) and not isinstance(value, type):
                continue
            if _contains_covered(value):
                setattr(cls, name, _swap(value))  # on the concrete tester class: it shadows the base's
    if MODE == "idinit":
        for name in dir(tester):
            if not _CONFIG_METHOD.match(name):
                continue
            attr = getattr(tester, name, None)
            if inspect.ismethod(attr) and not getattr(attr, _PATCHED, False):
                setattr(tester, name, _wrap_config_method(attr))


def _patch_test_instance(test) -> None:
    for name in ("all_model_classes", "all_generative_model_classes", "pipeline_model_mapping"):
        try:
            value = inspect.getattr_static(test, name)
        except AttributeError:
            continue
        if isinstance(value, property):
            continue  # computed from all_model_classes
        value = getattr(test, name)
        if _contains_covered(value):
            setattr(test, name, _swap(value))
    tester = getattr(test, "model_tester", None)
    if tester is not None and not isinstance(tester, property):
        _patch_tester(tester)


def _patch_test_class(cls) -> None:
    if vars(cls).get(_PATCHED):
        return
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in list(vars(klass).items()):
            if name.startswith("__") or isinstance(value, (property, staticmethod, classmethod)):
                continue
            if callable(value) and not isinstance(value, type):
                continue
            if _contains_covered(value):
                setattr(cls, name, _swap(value))
    original_setup = cls.setUp

    @functools.wraps(original_setup)
    def setUp(self, *args, **kwargs):
        original_setup(self, *args, **kwargs)
        _patch_test_instance(self)

    cls.setUp = setUp
    setattr(cls, _PATCHED, True)


def _patch_module(module) -> None:
    if getattr(module, _PATCHED, False):
        return
    for name, value in list(vars(module).items()):
        if _is_covered_model_class(value):
            setattr(module, name, _swap(value))
    setattr(module, _PATCHED, True)


def pytest_collection_modifyitems(session, config, items):
    if os.environ.get("HFH_ALL_INIT_TESTS", "1") == "1":
        # ModelTesterMixin.test_can_init_all_missing_weights (constructor == from_pretrained with no weights, bit for
        # bit) skips models whose modeling file says "Copyright <2023" unless the test class opts in: transformers
        # has not fixed every old model's _init_weights yet. It is an initialization contract, so the harness opts in
        # for every model, in every mode (stock included, so that a model whose stock init fails it shows no
        # regression).
        for cls in {item.cls for item in items if getattr(item, "cls", None) is not None}:
            if hasattr(cls, "test_can_init_all_missing_weights_before_2023"):
                cls.test_can_init_all_missing_weights_before_2023 = True
    if MODE == "stock":
        return
    for item in items:
        module = getattr(item, "module", None)
        if module is not None and module.__name__.startswith("tests.models."):
            _patch_module(module)
        cls = getattr(item, "cls", None)
        if cls is not None and module is not None and module.__name__.startswith("tests.models."):
            _patch_test_class(cls)
