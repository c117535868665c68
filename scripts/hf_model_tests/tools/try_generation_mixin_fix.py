"""pytest plugin (-p tools.try_generation_mixin_fix): the proposed idinit_hf fix for test_inherits_generation_mixin,
applied in-process to check it (nothing in the repo is edited). idinit_class lists GenerationMixin as an explicit
trailing base when the stock class inherits it directly, as transformers 5.x requires of generative classes."""
import functools

from transformers import GenerationMixin

import idinit_hf.install
import idinit_hf.models as models
from idinit_hf.mixin import IDInitMixin


@functools.cache
def idinit_class(stock):
    extra = (GenerationMixin,) if GenerationMixin in stock.__bases__ else ()
    cls = type(stock.__name__, (IDInitMixin, stock, *extra), {"__module__": models.__name__, "__doc__": stock.__doc__})
    cls.__qualname__ = f"IDInit{stock.__name__}"
    assert cls.__mro__[2:] == stock.__mro__, "the fix must not reorder the stock MRO"
    return cls


models.idinit_class = idinit_class
idinit_hf.install.idinit_class = idinit_class
