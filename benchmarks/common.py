"""What the benchmarks share: real data with fixed splits, small models, the initializations compared, one
training run.

Every run of a (family, depth, seed) sees the same batches in the same order whatever the initialization, so
the curves differ by the initialization alone. Data (embedded by default, real corpora by flag):

* text (GPT-2 causal LM, BERT masked LM): UTF-8 bytes as tokens (vocabulary 256, no tokenizer to train).
  Default: CPython's ``pydoc_data.topics`` (0.47 MB); ``--text_dir DIR`` reads every ``*.txt`` in DIR (e.g. the
  State of the Union corpus in ``../shared/data/text/sotu``). Contiguous split: 90% train, 5% validation, 5% test.
* images (ViT classification): scikit-learn's 8x8 digits by default (80/10/10 split); ``--image_dir DIR`` reads
  Fashion-MNIST IDX files (28x28; train 55k / validation 5k / test 10k).
"""

from __future__ import annotations

import gzip
import math
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from baselines import (
    BASELINES,
    applies_to,
    role_parameters,
    role_slots,
    slot_biases,
    transformer_stack,
    unit_token_table_,
)
from torch import nn
from transformers import get_cosine_schedule_with_warmup

from idinit_hf import testing
from idinit_hf.families import family_for
from idinit_hf.objectives import DataShape
from idinit_hf.options import OPTION_SPECS
from idinit_hf.roles import Role

FAMILIES = tuple(testing.names())  # every family of the registry
#: The transformer families of one stack of blocks (an attention branch in every block): the transformer recipes of
#: baselines.py are theirs (their depth rules count the blocks of one stack; an encoder-decoder's two stacks are not
#: one network of 2L blocks; a convolutional network has no attention to initialize).
TRANSFORMERS = tuple(name for name in FAMILIES if transformer_stack(testing.family(name)))


def is_image(family: str) -> bool:
    """Whether the family trains on images (else on text): its objective says (idinit_hf/objectives.py)."""
    return testing.family(family).modality == "image"

# ---- data ------------------------------------------------------------------------------------------------------------


@dataclass
class Splits:
    kind: str  # "text" or "images"
    train: tuple
    validation: tuple
    test: tuple
    source: str
    image_size: int = 0


def load_text(text_dir: str | None) -> Splits:
    if text_dir:
        files = sorted(Path(text_dir).glob("*.txt"))
        if not files:
            raise SystemExit(f"--text_dir {text_dir!r}: no *.txt files there")
        data = "\n".join(f.read_text(encoding="utf-8") for f in files).encode("utf-8")
        source = f"{Path(text_dir).name} ({len(files)} files)"  # the folder's name: the same label from any cwd
    else:
        from pydoc_data.topics import topics

        data = "\n".join(topics[k] for k in sorted(topics)).encode("utf-8")
        source = "pydoc_data.topics"
    tokens = torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    a, b = int(0.90 * len(tokens)), int(0.95 * len(tokens))
    return Splits("text", (tokens[:a],), (tokens[a:b],), (tokens[b:],), f"{source}, {len(tokens) / 1e6:.2f}M bytes")


def _read_idx(path: Path) -> torch.Tensor:
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = struct.unpack(f">{dims}I", raw[4 : 4 + 4 * dims])
    return torch.frombuffer(bytearray(raw[4 + 4 * dims :]), dtype=torch.uint8).view(*shape)


def load_images(image_dir: str | None) -> Splits:
    if image_dir:
        root = Path(image_dir)

        def find(stem):
            matches = sorted(root.glob(f"{stem}*"))
            if not matches:
                raise SystemExit(f"--image_dir {image_dir!r}: no {stem}* file (Fashion-MNIST IDX layout)")
            return _read_idx(matches[0])

        x_train, y_train = find("train-images"), find("train-labels")
        x_test, y_test = find("t10k-images"), find("t10k-labels")
        x_train = x_train.float().div(127.5).sub(1).unsqueeze(1)
        x_test = x_test.float().div(127.5).sub(1).unsqueeze(1)
        return Splits("images", (x_train[:55000], y_train[:55000].long()), (x_train[55000:], y_train[55000:].long()),
                      (x_test, y_test.long()), "Fashion-MNIST", image_size=28)
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).div(8).sub(1).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))  # fixed shuffle, then split
    x, y = x[order], y[order]
    a, b = int(0.8 * len(y)), int(0.9 * len(y))
    return Splits("images", (x[:a], y[:a]), (x[a:b], y[a:b]), (x[b:], y[b:]), "sklearn digits (8x8)", image_size=8)


@dataclass
class Batches:
    """Training batches drawn by a seeded generator, and fixed evaluation batches."""

    splits: Splits
    family: str
    batch_size: int
    block_size: int
    seed: int
    _generator: torch.Generator = field(init=False)

    def __post_init__(self):
        self._generator = torch.Generator().manual_seed(10_000 + self.seed)

    def _text(self, tokens: torch.Tensor, starts: torch.Tensor, generator: torch.Generator) -> dict:
        """The family's objective on windows of ``block_size`` tokens (next tokens, or 15% masked ones)."""
        ids = torch.stack([tokens[s : s + self.block_size] for s in starts.tolist()])
        objective = testing.family(self.family).objective
        shape = data_shape(self.family, self.block_size, self.splits.image_size)
        return objective.batch(ids, shape=shape, generator=generator)

    def train(self) -> dict:
        if self.splits.kind == "text":
            tokens = self.splits.train[0]
            starts = torch.randint(0, len(tokens) - self.block_size, (self.batch_size,), generator=self._generator)
            return self._text(tokens, starts, self._generator)
        x, y = self.splits.train
        index = torch.randint(0, len(y), (self.batch_size,), generator=self._generator)
        return {"pixel_values": x[index], "labels": y[index]}

    def evaluation(self, split: str, max_batches: int) -> list[dict]:
        """Non-overlapping windows (or images) from the start of ``split``; masks from a fixed generator."""
        data = getattr(self.splits, split)
        generator = torch.Generator().manual_seed(123)
        out = []
        if self.splits.kind == "text":
            tokens = data[0]
            n_windows = min((len(tokens) - 1) // self.block_size, max_batches * self.batch_size)
            starts = torch.arange(n_windows) * self.block_size
            for chunk in starts.split(self.batch_size):
                out.append(self._text(tokens, chunk, generator))
        else:
            x, y = data
            n = min(len(y), max_batches * self.batch_size)
            for i in range(0, n, self.batch_size):
                out.append({"pixel_values": x[i : i + self.batch_size], "labels": y[i : i + self.batch_size]})
        return out


# ---- models and initializations ---------------------------------------------------------------------------------------


def data_shape(family: str, block_size: int, image_size: int) -> DataShape:
    """What the data fixes in the family's config: bytes (256 ids, plus its objective's own tokens) in windows of
    ``block_size``, or single-channel ``image_size`` images of 10 classes (digits, Fashion-MNIST)."""
    return testing.data_shape(family, length=block_size, image_size=image_size, channels=1, classes=10)


def model_config(family: str, depth: int, width: int, block_size: int, image_size: int, **init) -> object:
    """The family's config at ``depth`` x ``width`` (idinit_hf.testing, from the family's own description), fitted
    to the data, without dropout."""
    shape = data_shape(family, block_size, image_size)
    return testing.tiny_config(family, depth, width, data=shape, dropout=0.0, **init)


AUTO = {name: testing.auto_class(name) for name in FAMILIES}


def with_role(role: Role) -> tuple[str, ...]:
    """The families whose table has a slot of ``role`` (where an option about that role changes anything)."""
    return tuple(name for name in FAMILIES if any(slot.role is role for slot in testing.family(name).slots))


#: The families on the paper's loosening (1e-6 on the τ entries), the one the two loosening variants below vary; the
#: families whose defaults loosen every entry (``LOOSENED_REPLICAS``: GPT-2, Llama) are measured with full names
#: (docs/defaults.md), as these two would mean other weights there.
FAMILIES_ON_PAPERS_LOOSENING = tuple(name for name in FAMILIES
                                     if "loosening" not in dict(testing.family(name).option_defaults))

#: IDInit's open variants (``idinit:key=value,...``, options parsed by :func:`idinit_options`) that run by default
#: at the shallowest depth, and the families each applies to.
VARIANTS: dict[str, tuple[str, ...]] = {
    "idinit:loosening=1e-3": FAMILIES_ON_PAPERS_LOOSENING,
    "idinit:loosening_target=all": FAMILIES_ON_PAPERS_LOOSENING,
    "idinit:zero_pattern=identity": FAMILIES,
    "idinit:epsilon=1e-3": FAMILIES,
    "idinit:embeddings=idi": TRANSFORMERS,
    "idinit:embeddings=default": TRANSFORMERS,
    "idinit:heads=zero": ("bert", "vit"),
    "idinit:patch_embedding=default": tuple(name for name in FAMILIES if is_image(name)),
    # the convolutional networks' open choices (issue 21, docs/defaults.md)
    "idinit:conv=centred": with_role(Role.DOWNSAMPLE),
    "idinit:downsample=default": with_role(Role.DOWNSAMPLE),
    "idinit:layer_scale=idi": with_role(Role.LAYER_SCALE),
    "idinit:branch_norm=idiz,normed_out=idi": with_role(Role.MLP_OUT_NORM),
}


def idinit_options(name: str) -> dict:
    """The config options of ``idinit`` or ``idinit:key=value,key=value`` (values parsed and checked by the option
    table, as the scripts' ``--idinit_*`` flags are). Raises ValueError for anything else."""
    prefix, _, pairs = name.partition(":")
    if prefix != "idinit":
        raise ValueError(f"unknown method {name!r}; known: {', '.join(METHODS)}, or idinit:key=value,...")
    specs = {spec.field: spec for spec in OPTION_SPECS}
    options: dict = {"init_method": "idinit"}
    for pair in pairs.split(",") if pairs else []:
        key, _, value = pair.partition("=")
        if key not in specs or not value:
            raise ValueError(f"method {name!r}: {pair!r} is not option=value with an option of {sorted(specs)}")
        try:
            options[specs[key].key] = specs[key].parse(value)
        except ValueError as error:
            raise ValueError(f"method {name!r}: {key}={error}") from None
    return options


#: name → (config options, post-init function, families it applies to). Any other ``idinit:key=value,key=value``
#: name is an IDInit variant too (:func:`method_spec`), e.g. ``idinit:embeddings=default,epsilon=1e-3``.
METHODS: dict[str, tuple[dict, object, tuple[str, ...]]] = {
    "default": ({}, None, FAMILIES),
    "idinit": (idinit_options("idinit"), None, FAMILIES),
    **{name: (idinit_options(name), None, families) for name, families in VARIANTS.items()},
    # practitioners' inits (baselines.py), each on the families its rule is written for (baselines.WRITTEN_FOR)
    **{name: ({}, init, applies_to(name, FAMILIES)) for name, init in BASELINES.items()},
}
#: Add-on probes (issue 19): ``A+name`` is the IDInit variant A, then one part of a practitioner's init written over
#: it, to find which part makes that init win where it does. ``unit-table``: torchtitan's untied token table N(0, 1)
#: (OLMo 2, where depth-init beat IDInit); where the table is tied to the LM head it writes nothing, and the run is A's.
ADD_ONS = {"unit-table": unit_token_table_}
#: what is compared head to head (the deeper depths' methods, --quick): the default, IDInit, every baseline
CORE_METHODS = ("default", "idinit", *BASELINES)


#: Swap probes (issue 19): ``A+B[role,role]`` is method A with method B's weights and biases in the named roles
#: (:class:`idinit_hf.roles.Role` values), A and B drawn from the same seed: which part of B makes it beat A where it
#: does. E.g. ``idinit+depth-init[attention_out,mlp_out]``: IDInit with torchtitan's depth-scaled branch outputs.
#: ``role:path`` narrows a role to the slots at that path of their owner (the family's table): ``attention_in:v_proj``
#: is the value projections alone. A role moves as the family's table holds it: a fused gate|up slot is ``mlp_in``
#: (gate and up move together), a head tied to the token table is the table (``embedding``). A role with nothing to
#: copy in the model is an error.
SWAP = re.compile(r"(?P<base>[^+\[]+)\+(?P<donor>[^\[]+)\[(?P<roles>[^\]]+)\]")
#: One swapped part: a role, and the path of its slots when narrowed (``role:path``), else None.
SwapTarget = tuple[Role, str | None]


def swap_probe(name: str) -> tuple[str, str, tuple[SwapTarget, ...]] | None:
    """(A, B, targets) of a swap probe ``A+B[role,role:path,...]`` (:data:`SWAP`), None for any other name. Raises
    ValueError for a swap probe whose methods or roles are unknown."""
    match = SWAP.fullmatch(name)
    if match is None:
        return None
    targets = []
    for value in match["roles"].split(","):
        role, _, path = value.partition(":")
        if role not in Role._value2member_map_:
            raise ValueError(f"method {name!r}: {role!r} is not a role; roles: {', '.join(r.value for r in Role)}")
        targets.append((Role(role), path or None))
    for method in (match["base"], match["donor"]):
        method_spec(method)
    return match["base"], match["donor"], tuple(targets)


def method_spec(name: str) -> tuple[dict, object, tuple[str, ...]]:
    """(config options, post-init, families) of a method: a name of :data:`METHODS`, any IDInit variant
    ``idinit:k=v,k=v``, an add-on probe ``A+unit-table`` (:data:`ADD_ONS`), or a swap probe ``A+B[roles]`` (A's
    options and post-init, :func:`build` swaps the roles in; the families of both). Raises ValueError for anything
    else."""
    if name in METHODS:
        return METHODS[name]
    base, plus, add_on = name.rpartition("+")
    if plus and add_on in ADD_ONS:
        options, post_init, families = method_spec(base)
        if post_init is not None or not options or swap_probe(base) is not None:
            raise ValueError(f"method {name!r}: {add_on} adds to an IDInit variant (idinit or idinit:k=v,...), "
                             f"not {base!r}")
        return options, ADD_ONS[add_on], tuple(f for f in families if f in TRANSFORMERS)
    if (swap := swap_probe(name)) is not None:
        base, donor, _ = swap
        options, post_init, families = method_spec(base)
        return options, post_init, tuple(f for f in families if f in method_spec(donor)[2])
    return idinit_options(name), None, FAMILIES


def method_name(text: str) -> str:
    """argparse type of --methods: any name :func:`method_spec` knows (METHODS, IDInit variants, probes)."""
    import argparse

    try:
        method_spec(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def method_order(name: str) -> tuple[int, str]:
    """Sort key: the table's order, then other variants by name."""
    return (list(METHODS).index(name), "") if name in METHODS else (len(METHODS), name)


def build(family: str, method: str, depth: int, width: int, block_size: int, image_size: int, seed: int) -> nn.Module:
    if (swap := swap_probe(method)) is not None:
        base, donor, targets = swap
        model = build(family, base, depth, width, block_size, image_size, seed)
        swap_roles_(model, build(family, donor, depth, width, block_size, image_size, seed), targets)
        return model
    options, post_init, _ = method_spec(method)
    torch.manual_seed(seed)  # the random parts (embeddings, heads, default layers) depend on the seed alone
    model = AUTO[family].from_config(model_config(family, depth, width, block_size, image_size, **options))
    if post_init is not None:
        post_init(model)
    return model


@torch.no_grad()
def swap_roles_(model: nn.Module, donor: nn.Module, targets: tuple[SwapTarget, ...]) -> None:
    """Copy ``donor``'s weights and biases of ``targets`` (roles, each narrowed to a slot path or not) into ``model``
    (the same architecture and config). Raises ValueError for a target with no parameter to copy (absent from the
    family, a head tied to the table, a path the role has no slot at): the probe would silently be its base method."""
    for role, path in targets:
        if next(role_parameters(model, role, path=path), None) is None:
            at = f" at path {path!r}" if path else ""
            raise ValueError(f"swap probe: {type(model).__name__} has no untied parameter of role {role.value!r}{at}")
    for role, path in targets:
        pairs = zip(role_parameters(model, role, path=path), role_parameters(donor, role, path=path), strict=True)
        for (_, _, param), (_, _, given) in pairs:
            param.copy_(given)
        slots = zip(role_slots(model, role, path=path), role_slots(donor, role, path=path), strict=True)
        for (module, slot), (given_module, _) in slots:
            for bias, given in zip(slot_biases(module, slot), slot_biases(given_module, slot), strict=True):
                bias.copy_(given)


# ---- one run ----------------------------------------------------------------------------------------------------------


@dataclass
class RunSettings:
    steps: int = 400
    eval_every: int = 50
    eval_batches: int = 8
    batch_size: int = 16
    block_size: int = 64
    width: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: int = 50
    max_grad_norm: float = 1.0


@torch.no_grad()
def evaluate(model: nn.Module, batches: list[dict]) -> tuple[float, float]:
    """Mean loss over the evaluation batches (token-weighted for LMs), and accuracy (images, masked tokens)."""
    model.eval()
    total_loss, total_count, correct = 0.0, 0, 0
    objective = testing.family(family_for(model.config).name).objective
    for batch in batches:
        out = model(**batch)
        # next tokens (position t predicts token t + 1), masked tokens (-100 elsewhere) or image classes
        predicted, targets = objective.predictions(out.logits, batch["labels"])
        valid = targets != -100
        count = int(valid.sum())
        correct += int((predicted[valid] == targets[valid]).sum())
        total_loss += float(out.loss) * count
        total_count += count
    model.train()
    return total_loss / max(total_count, 1), correct / max(total_count, 1)


def train_run(model: nn.Module, batches: Batches, settings: RunSettings, *, eval_split: str = "validation",
              observe=None) -> dict:
    """Train with AdamW (decay on ≥2-D weights), warm-up + cosine, clipping; evaluate every ``eval_every`` steps.

    ``observe(phase, step, model)``, if given, is called with ``"grad"`` after the backward pass (raw gradients,
    before clipping) and with ``"update"`` after the optimizer step (benchmarks/dynamics.py).
    Returns the curve of (step, eval loss, eval accuracy), train losses, and whether the run diverged (a
    non-finite loss stops it).
    """
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr)
    scheduler = get_cosine_schedule_with_warmup(optimizer, settings.warmup, settings.steps)
    evaluation = batches.evaluation(eval_split, settings.eval_batches)
    curve = [(0, *evaluate(model, evaluation))]
    train_losses = []
    diverged = False
    start = time.perf_counter()
    model.train()
    for step in range(1, settings.steps + 1):
        loss = model(**batches.train()).loss
        if not torch.isfinite(loss):
            diverged = True
            break
        loss.backward()
        if observe is not None:
            observe("grad", step, model)
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.max_grad_norm)
        optimizer.step()
        if observe is not None:
            observe("update", step, model)
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        train_losses.append(loss.item())
        if step % settings.eval_every == 0 or step == settings.steps:
            curve.append((step, *evaluate(model, evaluation)))
            if not math.isfinite(curve[-1][1]):
                diverged = True
                break
    return {"curve": curve, "train_losses": train_losses, "diverged": diverged,
            "seconds": time.perf_counter() - start}


def frequency_baseline(splits: Splits, family: str, batches: list[dict]) -> float:
    """The loss of a model that learned only the frequencies: each evaluated target (next byte, masked byte, or
    image class) predicted by its frequency in the training split (add-one smoothed). A run whose validation loss
    is not clearly below this has learned nothing from the context: it *stalls* (BERT's unigram plateau)."""
    train_targets = splits.train[0] if splits.kind == "text" else splits.train[1]
    counts = torch.bincount(train_targets, minlength=int(train_targets.max()) + 1).double() + 1
    log_p = (counts / counts.sum()).log()
    objective = testing.family(family).objective
    targets = torch.cat([objective.targets(batch) for batch in batches])
    return float(-log_p[targets].mean())


def steps_to_target(curve: list, target: float) -> int | None:
    """The first evaluated step whose loss is at or below ``target`` (None if never)."""
    for step, loss, _ in curve:
        if loss <= target:
            return step
    return None
