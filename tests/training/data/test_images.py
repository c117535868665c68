"""Images → tensors (idinit_hf/training/data/images.py): labels and their names are checked once, before
training; images of any mode become the model's channel count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from PIL import Image

from idinit_hf.training.data.images import collate_images, image_transform, label_names
from idinit_hf.training.errors import BadInputError


def labelled(train: list, validation: list | None = None, names: list[str] | None = None) -> DatasetDict:
    feature = ClassLabel(names=names) if names else Value("int64" if all(isinstance(v, int) for v in train) else "string")
    make = lambda values: Dataset.from_dict({"label": values}, features=Features({"label": feature}))  # noqa: E731
    return DatasetDict({"train": make(train), **({"validation": make(validation)} if validation else {})})


@pytest.mark.parametrize("data, message", [
    (labelled([0, 1, -1]), "label -1 in the train data is out of range: labels must be in [0, 2)"),
    (DatasetDict({"train": labelled([0, 1, 2], names=["a", "b", "c"])["train"], "validation": labelled([0, 3])["train"]}),
     "label 3 in the validation data is out of range: labels must be in [0, 3) for the 3 classes ['a', 'b', 'c']"),
    (labelled([0, 1, -1], names=["cat", "dog"]), "label -1 in the train data is out of range"),
    (labelled(["cat", "dog"]), "holds str values; labels must be integers"),
    (labelled([0, 0, 0]), "the training data has 1 class(es); classification needs at least 2"),
])
def test_bad_labels_are_refused(data, message):
    with pytest.raises(BadInputError) as error:
        label_names(data, "label")
    assert message in str(error.value)


def test_integer_labels_are_never_renumbered():
    """Labels 0 and 2 keep their meaning: 3 classes, class '1' simply has no example."""
    assert label_names(labelled([0, 2, 2], [2]), "label") == ["0", "1", "2"]
    assert label_names(labelled([1, 0], names=["cat", "dog"]), "label") == ["cat", "dog"]


def test_label_names_need_a_train_split_with_rows():
    with pytest.raises(BadInputError, match="the training data is empty"):
        label_names(DatasetDict({"train": Dataset.from_dict({"label": []})}), "label")


class Resize:
    """A stand-in image processor: the images it is given, as ``pixel_values`` of their mode's channels."""

    def __call__(self, images, return_tensors):
        arrays = [torch.tensor(np.asarray(image), dtype=torch.float32).reshape(image.height, image.width, -1)
                  for image in images]
        return {"pixel_values": torch.stack([a.permute(2, 0, 1) for a in arrays])}


@pytest.mark.parametrize("channels", [1, 3])
def test_images_of_any_mode_become_the_model_s_channels(channels):
    batch = {"image": [Image.new("L", (4, 4), 30), Image.new("RGBA", (4, 4)), Image.new("1", (4, 4), 1)],
             "label": [0, 1, 1]}
    out = image_transform(Resize(), channels, "image", "label")(batch)
    assert out["pixel_values"].shape == (3, channels, 4, 4) and out["labels"] == [0, 1, 1]
    stacked = collate_images([{"pixel_values": p, "labels": y} for p, y in zip(out["pixel_values"], out["labels"],
                                                                               strict=True)])
    assert stacked["pixel_values"].shape == (3, channels, 4, 4) and stacked["labels"].tolist() == [0, 1, 1]
