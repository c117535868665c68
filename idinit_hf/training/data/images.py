"""Images → tensors: image folders checked up front, labels and their names, the image processor and transform.

The training images become an :class:`~idinit_hf.training.data.train_data.InMemoryData` (the ViT script makes
it from the transformed ``train`` split).
"""

from __future__ import annotations

import argparse
import io

import datasets
import torch
from datasets import ClassLabel, Dataset, DatasetDict, Features, load_dataset
from PIL import Image
from transformers import AutoImageProcessor

from ..errors import BadInputError, loading
from .sources import EMBEDDED_IMAGES, embedded_digit_images, with_validation

try:
    from transformers import ViTImageProcessorPil as ImageProcessor
except ImportError:  # older transformers: the PIL processor is ViTImageProcessor itself
    from transformers import ViTImageProcessor as ImageProcessor


def load_image_datasets(args: argparse.Namespace):
    """The raw image ``DatasetDict`` (``train``, maybe ``validation``), the label names, and a description."""
    if args.dataset_name:
        with loading("--dataset_name", args.dataset_name):
            raw = load_dataset(args.dataset_name, args.dataset_config_name)
        source = args.dataset_name
    elif args.train_dir:
        with loading("--train_dir", args.train_dir):
            raw = DatasetDict({"train": load_dataset("imagefolder", data_dir=args.train_dir, split="train")})
        if args.validation_dir:
            with loading("--validation_dir", args.validation_dir):
                raw["validation"] = load_dataset("imagefolder", data_dir=args.validation_dir, split="train")
        for split, flag in (("train", "--train_dir"), ("validation", "--validation_dir")):
            if split in raw and args.image_column_name in raw[split].column_names:
                check_image_files(raw[split], args.image_column_name, flag)
        source = args.train_dir + (f", {args.validation_dir}" if args.validation_dir else "")
    else:
        images, labels = embedded_digit_images()
        features = Features({"image": datasets.Image(), "label": ClassLabel(names=[str(d) for d in range(10)])})
        raw = DatasetDict({"train": Dataset.from_dict({"image": images, "label": labels}, features=features)})
        source = EMBEDDED_IMAGES
    for name, flag in ((args.image_column_name, "--image_column_name"), (args.label_column_name, "--label_column_name")):
        for split in raw.values():
            if name not in split.column_names:
                raise BadInputError(f"{flag} {name!r} is not a column of the data; columns: {split.column_names}")
    names = label_names(raw, args.label_column_name)
    return with_validation(raw, args), names, source


def check_image_files(data, column: str, flag: str) -> None:
    """Open every image of a local folder once (its header: ``PIL.Image.verify``), so that a file that is not an
    image is reported with its path now, not as a traceback in the middle of training. Sizes and modes may be
    mixed: :func:`image_transform` converts and the image processor resizes."""
    for item in data.cast_column(column, datasets.Image(decode=False))[column]:
        try:
            with Image.open(item["path"] if item["bytes"] is None else io.BytesIO(item["bytes"])) as image:
                image.verify()
        except Exception as error:  # PIL raises several types for a broken file
            raise BadInputError(f"{flag}: {item['path']} is not a readable image ({error})") from None


def label_names(raw, column: str) -> list[str]:
    """The class names, one per label index. A ``ClassLabel`` column brings its names; plain integer labels are
    named by value, ``0 .. max`` (a label is the index of its logit, so values are never renumbered). Every
    split's labels must be integers in ``[0, number of classes)``: checked here, once, rather than met as an
    index error in the middle of training."""
    feature = raw["train"].features[column]
    names = getattr(feature, "names", None)
    values = {split: set(data[column]) for split, data in raw.items()}
    if not values["train"]:
        raise BadInputError("the training data is empty")
    seen = set().union(*values.values())
    if any(not isinstance(v, int) or isinstance(v, bool) for v in seen):
        kinds = sorted({type(v).__name__ for v in seen})
        raise BadInputError(f"--label_column_name {column!r} holds {', '.join(kinds)} values; labels must be "
                            "integers 0..num_classes-1 or a datasets ClassLabel")
    if names is None:
        names = [str(v) for v in range(max(seen) + 1)]
    for split, found in values.items():
        bad = sorted(v for v in found if not 0 <= v < len(names))
        if bad:
            raise BadInputError(f"label {bad[0]} in the {split} data is out of range: labels must be in "
                                f"[0, {len(names)}) for the {len(names)} classes {names[:10]}"
                                f"{' ...' if len(names) > 10 else ''}")
    if len(names) < 2:
        raise BadInputError(f"the training data has {len(names)} class(es); classification needs at least 2")
    return list(names)


def image_mode(num_channels: int) -> str:
    """The PIL mode an image is converted to for a model with ``num_channels`` input channels."""
    return {1: "L", 3: "RGB"}[num_channels]


def image_transform(processor, num_channels: int, image_column: str, label_column: str):
    """A batch transform for ``Dataset.with_transform``: PIL images → normalized ``pixel_values``, labels.

    Images are converted to the model's channel count first (grayscale ↔ RGB), so a grayscale set trains an
    RGB ViT and vice versa. Deterministic (no augmentation), which keeps resumed runs exact.
    """
    mode = image_mode(num_channels)

    def transform(batch):
        images = [image.convert(mode) for image in batch[image_column]]
        pixels = processor(images, return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels, "labels": batch[label_column]}

    return transform


def image_side(args: argparse.Namespace, config) -> int:
    """The side the images are resized to: the config's ``image_size`` where it has one (a ViT's position table is
    made for it; set it with ``--config_overrides``), else ``--image_size`` (a convolutional network, ResNet or
    RegNet, takes any size). Raises :class:`BadInputError` where the two disagree."""
    own = getattr(config, "image_size", None)
    if own is None:
        return args.image_size if args.image_size is not None else DEFAULT_IMAGE_SIZE
    if isinstance(own, (list, tuple)):
        if len(set(own)) != 1:
            raise BadInputError(f"image_size={own}: the script trains on square images")
        own = own[0]
    if args.image_size is not None and args.image_size != own:
        raise BadInputError(f"--image_size {args.image_size} but model type {config.model_type!r} has "
                            f"image_size={own} in its config: set that with --config_overrides image_size=...")
    return int(own)


#: ``--image_size`` for an architecture whose config has no image size (ResNet, RegNet): their ImageNet side.
DEFAULT_IMAGE_SIZE = 224


def image_processor_for(args: argparse.Namespace, config):
    """``--image_processor_name``, else a standard ``ViTImageProcessor`` of :func:`image_side`.

    The PIL backend is used because transformers' default ViT processor backend needs torchvision.
    """
    if args.image_processor_name:
        with loading("--image_processor_name", args.image_processor_name):
            return AutoImageProcessor.from_pretrained(args.image_processor_name)
    size = image_side(args, config)
    return ImageProcessor(size={"height": size, "width": size}, image_mean=[0.5] * config.num_channels,
                          image_std=[0.5] * config.num_channels)


def collate_images(examples):
    """Stack ``pixel_values`` and ``labels`` of single examples (what ``with_transform`` yields per row)."""
    return {"pixel_values": torch.stack([e["pixel_values"] for e in examples]),
            "labels": torch.tensor([e["labels"] for e in examples])}
