"""The start of a run (idinit_hf/training/runtime.py): the ``--torch_compile`` probe reports why torch cannot
compile here, as one error before anything runs."""

from __future__ import annotations

import pytest
import torch

from idinit_hf.training.errors import BadInputError
from idinit_hf.training.runtime import check_compile, compile_problem


class OneProcess:
    device, num_processes = torch.device("cpu"), 1


def test_a_compiler_that_fails_is_one_line_naming_the_device(monkeypatch):
    def cannot_compile(*args, **kwargs):
        raise RuntimeError("InductorError: CppCompileError: C++ compile error\nwith details")

    monkeypatch.setattr(torch, "compile", cannot_compile)
    assert compile_problem("cpu") == ("torch.compile does not work on cpu (RuntimeError: InductorError: "
                                      "CppCompileError: C++ compile error)")
    with pytest.raises(BadInputError) as error:
        check_compile(OneProcess())
    assert str(error.value).startswith("--torch_compile: torch.compile does not work on cpu")
    assert str(error.value).endswith("; run without --torch_compile")


def test_a_compiler_that_computes_wrongly_is_refused(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda function, **kwargs: lambda x: function(x) + 1)
    assert compile_problem("cpu") == "torch.compile ran but returned a wrong value"
