"""Command-line flags shared by the pretraining scripts, and their validation.

Flag names follow transformers' ``run_clm_no_trainer.py`` / ``run_mlm_no_trainer.py`` /
``run_image_classification_no_trainer.py`` where they overlap, so a user of those scripts feels at home.
``docs/scripts.md`` lists every flag with its default.

Every check that can be made from the flags alone lives in :func:`validate_args`; checks that need the data or
the model config (a missing text column, ``--block_size`` above the context length, a checkpoint of another
model) raise :class:`BadInputError` from the module that knows the fact. The scripts run :func:`~idinit_hf.training.errors.run_cli`, which
turns a :class:`BadInputError` into one ``error:`` line on stderr and exit status 2, before any training or
writing has happened.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

from idinit_hf.options import INIT_METHODS, OPTION_SPECS, OptionSpec

from .data.sources import data_format
from .errors import BadInputError
from .tasks import TASKS, Task

#: Allowed ``--lr_scheduler_type`` values (the names ``transformers.get_scheduler`` knows that need no extra args).
SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup")

def existing_ancestor(path: str | Path) -> Path:
    """``path`` made absolute, or its nearest parent that exists (where a folder not created yet would go)."""
    folder = Path(path).absolute()
    while not folder.exists():
        folder = folder.parent
    return folder


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _positive_float(text: str) -> float:
    """``--peak_tflops``: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _steps_or_epoch(text: str) -> int | str:
    """``--checkpointing_steps``: a positive number of optimizer steps, or ``epoch`` (as in the HF scripts)."""
    if text == "epoch":
        return text
    return _positive_int(text)


def _option_flag(spec: OptionSpec):
    """argparse ``type`` of ``--idinit_<field>``: the option table's own parser and check."""

    def parse(text: str):
        try:
            return spec.parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = spec.kind  # argparse names the type in its "invalid <type> value" message
    return parse


def add_init_flags(parser: argparse.ArgumentParser) -> None:
    """``--init_method`` and one ``--idinit_<field>`` flag per row of :data:`idinit_hf.options.OPTION_SPECS`.

    A flag that is not given leaves the config without the key (``argparse.SUPPRESS``), so the architecture's
    own default (``Family.option_defaults``, e.g. BERT's embeddings) still applies.
    """
    init = parser.add_argument_group("initialization (written into the model config; docs/options.md)")
    init.add_argument("--init_method", default="default", choices=INIT_METHODS, help="the initialization")
    for spec in OPTION_SPECS:
        init.add_argument(f"--{spec.key}", type=None if spec.choices else _option_flag(spec), choices=spec.choices or None,
                          default=argparse.SUPPRESS, metavar=spec.field.upper() if not spec.choices else None,
                          help=f"{spec.doc} Allowed: {spec.allowed()}; default: {spec.default!r} "
                               "(or the architecture's own, docs/defaults.md)")


def build_parser(task: str, description: str) -> argparse.ArgumentParser:
    """The parser of one script (``task``: a key of :data:`~idinit_hf.training.tasks.TASKS`), group by group in
    the order of ``--help``: data, model, initialization, training, then evaluation/checkpoints/logging."""
    spec = TASKS[task]
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_data_flags(parser, spec)
    add_model_flags(parser, spec)
    add_init_flags(parser)
    add_training_flags(parser, spec)
    add_run_flags(parser)
    return parser


def add_data_flags(parser: argparse.ArgumentParser, task: Task) -> None:
    """Where the data comes from and how much of it is used; then the text or the image flags of ``task``."""
    data = parser.add_argument_group("data (default: the embedded corpus, see docs/scripts.md)")
    data.add_argument("--dataset_name", help="a dataset on the Hugging Face hub (or a local dataset script/folder)")
    data.add_argument("--dataset_config_name", help="the configuration name of --dataset_name")
    data.add_argument("--validation_split_percentage", type=_nonnegative_int, default=5,
                      help="percent of the training data held out when there is no validation split")
    data.add_argument("--max_train_samples", type=_positive_int,
                      help="keep only this many training documents/images (quick runs)")
    data.add_argument("--max_eval_samples", type=_positive_int,
                      help="keep only this many validation documents/images (quick runs)")
    data.add_argument("--preprocessing_num_workers", type=_positive_int, help="processes for datasets.map")
    data.add_argument("--overwrite_cache", action="store_true", help="recompute cached datasets.map results")
    (add_text_data_flags if task.text else add_image_data_flags)(data)


def add_text_data_flags(data: argparse._ArgumentGroup) -> None:
    """Local text files, the text column, the block size, and ``--streaming``."""
    data.add_argument("--train_file", help="a local .txt/.json/.jsonl/.csv/.parquet training file")
    data.add_argument("--validation_file", help="a local validation file of the same type")
    data.add_argument("--text_column_name", help="the text column (default: 'text', else the first column)")
    data.add_argument("--block_size", type=_positive_int,
                      help="tokens per training sequence (default: min(context length, 1024))")
    data.add_argument("--streaming", action="store_true",
                      help="read the training data as a stream (datasets IterableDataset): tokenized and packed "
                           "on the fly, each process reading its own shard, in file order (no shuffling); needs "
                           "--max_train_steps; validation only from --validation_file or the dataset's own "
                           "split (docs/scripts.md)")


def add_image_data_flags(data: argparse._ArgumentGroup) -> None:
    """Local image folders and the image and label columns."""
    data.add_argument("--train_dir", help="a local image folder (datasets 'imagefolder': one subfolder per class)")
    data.add_argument("--validation_dir", help="a local validation image folder")
    data.add_argument("--image_column_name", default="image", help="the image column")
    data.add_argument("--label_column_name", default="label", help="the label column")


def add_model_flags(parser: argparse.ArgumentParser, task: Task) -> None:
    """The architecture and its config; the tokenizer (text) or image processor (images)."""
    model = parser.add_argument_group("model")
    model.add_argument("--model_type", default=task.model_type,
                       help="architecture of the model trained from scratch: a transformers model_type with the "
                            "script's head, e.g. any family of idinit_hf.FAMILIES (gpt2, bert, vit, llama, mistral, "
                            "qwen2, ...)")
    model.add_argument("--config_name", help="a pretrained config name or path (instead of --model_type)")
    model.add_argument("--config_overrides", help='comma-separated config values, e.g. "n_layer=2,n_embd=64"; '
                                                  'lists in brackets, e.g. "depths=[2,2],hidden_sizes=[16,32]"')
    if task.text:
        model.add_argument("--tokenizer_name",
                           help="a pretrained tokenizer name or path (default: train one on the training split)")
        model.add_argument("--vocab_size", type=_positive_int, default=8000,
                           help="vocabulary size of the tokenizer trained when --tokenizer_name is not given")
    if task.masked:
        model.add_argument("--mlm_probability", type=float, default=0.15, help="fraction of tokens masked")
    if not task.text:
        model.add_argument("--image_processor_name", help="a pretrained image processor name or path "
                                                          "(default: a ViTImageProcessor for the config)")
        model.add_argument("--image_size", type=_positive_int, default=None,
                           help="the side images are resized to, for an architecture whose config has no image_size "
                                "(ResNet, RegNet; default 224); a config's own image_size (ViT, DINOv2, BEiT, "
                                "ConvNeXt) is set with --config_overrides")
    model.add_argument("--gradient_checkpointing", action="store_true",
                       help="recompute activations in the backward pass (the transformers model's own switch): "
                            "less memory, about a third more compute per step")


def add_training_flags(parser: argparse.ArgumentParser, task: Task) -> None:
    """Batch, optimizer, schedule, length of the run, precision and compilation."""
    train = parser.add_argument_group("training")
    train.add_argument("--per_device_train_batch_size", type=_positive_int, default=8,
                       help="training batch per process (global batch = this x processes x accumulation)")
    train.add_argument("--per_device_eval_batch_size", type=_positive_int, default=8,
                       help="evaluation batch per process")
    train.add_argument("--learning_rate", type=_finite_float, default=task.learning_rate,
                       help="peak learning rate of AdamW")
    train.add_argument("--weight_decay", type=_finite_float, default=0.0,
                       help="AdamW weight decay, applied only to weights with 2 or more dimensions")
    train.add_argument("--num_train_epochs", type=_positive_int, default=3,
                       help="passes over the training data (unless --max_train_steps is given)")
    train.add_argument("--max_train_steps", type=_positive_int,
                       help="optimizer steps in total; overrides --num_train_epochs")
    train.add_argument("--gradient_accumulation_steps", type=_positive_int, default=1,
                       help="micro-batches per optimizer step")
    train.add_argument("--lr_scheduler_type", default="linear", choices=SCHEDULERS,
                       help="learning-rate decay after the warm-up (transformers.get_scheduler)")
    train.add_argument("--num_warmup_steps", type=_nonnegative_int, default=0,
                       help="optimizer steps of linear learning-rate warm-up")
    train.add_argument("--max_grad_norm", type=_finite_float, default=1.0, help="gradient clipping; 0 disables")
    train.add_argument("--seed", type=_nonnegative_int, default=42,
                       help="seeds the init (identical on every rank) and the data order")
    train.add_argument("--mixed_precision", choices=("no", "fp16", "bf16"),
                       help="autocast precision (default: what `accelerate launch` or its config says, else no)")
    train.add_argument("--torch_compile", action="store_true",
                       help="compile the model with torch.compile (inductor), once, when accelerate prepares it; "
                            "checked before anything runs")
    train.add_argument("--mixed_precision_fallback", choices=("warn", "error"), default="warn",
                       help="bf16 asked on a rank without bf16: fall back (fp16 on GPU, fp32 on CPU) with a "
                            "warning, or stop")


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Outputs, evaluation, checkpoints and resuming, logging and trackers, the device."""
    run = parser.add_argument_group("evaluation, checkpoints, logging")
    run.add_argument("--output_dir", required=True, help="where the model, logs and checkpoints go")
    run.add_argument("--overwrite_output_dir", action="store_true",
                     help="allow a non-empty --output_dir (its files are replaced)")
    run.add_argument("--eval_steps", type=_positive_int, help="evaluate every N optimizer steps (and at the end)")
    run.add_argument("--checkpointing_steps", type=_steps_or_epoch,
                     help="save a resumable checkpoint every N optimizer steps, or 'epoch'")
    run.add_argument("--checkpoints_total_limit", type=_positive_int, help="keep at most this many checkpoints")
    run.add_argument("--resume_from_checkpoint",
                     help="a checkpoint folder, or 'latest' (the newest complete one in --output_dir)")
    run.add_argument("--logging_steps", type=_positive_int, default=1, help="log the training loss every N steps")
    run.add_argument("--with_tracking", action="store_true", help="also log to experiment trackers")
    run.add_argument("--report_to", default="all", help="trackers for --with_tracking, e.g. tensorboard")
    run.add_argument("--peak_tflops", type=_positive_float,
                     help="peak dense TFLOP/s of one device, for the model FLOPs utilisation (MFU) in the logs "
                          "(default: a table of common cards; unknown on CPU)")
    run.add_argument("--cpu", action="store_true", help="train on CPU even when an accelerator is present")


def parse_args(task: str, description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and validate the flags of one script; a bad flag exits with status 2 and one ``error:`` line."""
    parser = build_parser(task, description)
    args = parser.parse_args(argv)
    args.task = task
    try:
        validate_args(args)
    except BadInputError as error:
        parser.error(str(error))
    return args


def _top_level_items(text: str) -> list[str]:
    """``text`` split at the commas outside brackets: ``"a=1,b=[2,3]"`` → ``["a=1", "b=[2,3]"]``."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(text[start:index])
            start = index + 1
    return [*items, text[start:]]


def parse_config_overrides(text: str | None) -> dict[str, str]:
    """``"n_layer=2,n_embd=64"`` → ``{"n_layer": "2", "n_embd": "64"}`` (values are typed by the config); a list
    value is written in brackets (``"depths=[2,2],hidden_sizes=[16,32]"``: a convolutional network's stages)."""
    if not text:
        return {}
    pairs = {}
    for item in _top_level_items(text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise BadInputError(f'--config_overrides: expected "key=value,key=value", got {item!r} in {text!r}')
        pairs[key.strip()] = value.strip()
    return pairs


def _check_data_file(flag: str, path: str | None) -> None:
    if path is None:
        return
    file = Path(path)
    if not file.is_file():
        raise BadInputError(f"{flag} {path}: no such file")
    if file.stat().st_size == 0:
        raise BadInputError(f"{flag} {path}: the file is empty")
    if data_format(path) is None:
        raise BadInputError(f"{flag} {path}: unknown file type; use .txt, .json, .jsonl, .csv or .parquet")


def output_dir_problem(output_dir: str, overwrite: bool, resuming: bool) -> str | None:
    """Why ``output_dir`` may not be written to, or None.

    A non-empty folder needs ``--overwrite_output_dir``, except when resuming: continuing a run in its own
    folder is the point of ``--resume_from_checkpoint latest``.
    """
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        return f"--output_dir {output_dir} exists and is not a folder"
    if path.is_dir() and any(path.iterdir()) and not (overwrite or resuming):
        return (f"--output_dir {output_dir} exists and is not empty; pass --overwrite_output_dir to replace "
                "its contents, or --resume_from_checkpoint to continue the run in it")
    return unwritable(output_dir)


def unwritable(output_dir: str) -> str | None:
    """Why no file can be created in ``output_dir`` (or, if it does not exist yet, in its nearest existing
    parent), or None. Tested by creating and removing a probe file: permission bits say nothing for root or on
    read-only mounts. Leaves no file behind."""
    folder = existing_ancestor(output_dir)
    if not folder.is_dir():
        return f"--output_dir {output_dir} cannot be created: {folder} is a file"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".idinit-write-test-"):
            pass
    except OSError as error:
        return f"--output_dir {output_dir} is not writable: {error}"
    return None


def validate_args(args: argparse.Namespace) -> None:
    """Every check that the flags alone allow. Raises :class:`BadInputError` with one clear message."""
    for flag in ("train_file", "validation_file"):
        _check_data_file(f"--{flag}", getattr(args, flag, None))
    if getattr(args, "validation_file", None) and not getattr(args, "train_file", None):
        raise BadInputError("--validation_file needs --train_file")
    if getattr(args, "validation_dir", None) and not getattr(args, "train_dir", None):
        raise BadInputError("--validation_dir needs --train_dir")
    for flag in ("train_dir", "validation_dir"):
        folder = getattr(args, flag, None)
        if folder is not None and (not Path(folder).is_dir() or not any(Path(folder).iterdir())):
            raise BadInputError(f"--{flag} {folder}: no such folder, or it is empty")
    local = getattr(args, "train_file", None) or getattr(args, "train_dir", None)
    if args.dataset_name and local:
        raise BadInputError("give either --dataset_name or local data (--train_file/--train_dir), not both")
    if args.validation_split_percentage >= 100:
        raise BadInputError("--validation_split_percentage must be below 100")
    if TASKS[args.task].masked and not 0 < args.mlm_probability < 1:
        raise BadInputError("--mlm_probability must be between 0 and 1")
    if args.learning_rate <= 0:
        raise BadInputError("--learning_rate must be > 0")
    if args.weight_decay < 0 or args.max_grad_norm < 0:
        raise BadInputError("--weight_decay and --max_grad_norm must be >= 0")
    parse_config_overrides(args.config_overrides)
    if getattr(args, "streaming", False) and args.max_train_steps is None:
        raise BadInputError("--streaming needs --max_train_steps: a stream has no length to count epochs in")

    problem = output_dir_problem(args.output_dir, args.overwrite_output_dir, bool(args.resume_from_checkpoint))
    if problem:
        raise BadInputError(problem)
    if args.resume_from_checkpoint and args.resume_from_checkpoint != "latest":
        if not Path(args.resume_from_checkpoint).is_dir():
            raise BadInputError(f"--resume_from_checkpoint {args.resume_from_checkpoint}: no such folder")


def init_options(args: argparse.Namespace) -> dict[str, object]:
    """The config attributes that the ``--init_method`` / ``--idinit_*`` flags given on the command line set."""
    keys = ("init_method", *(spec.key for spec in OPTION_SPECS))
    return {key: getattr(args, key) for key in keys if hasattr(args, key)}
