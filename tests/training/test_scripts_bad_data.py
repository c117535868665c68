"""Bad or unusual data: one clear error before training (exit 2), or, where the input is merely unusual, a run
that trains. Text that is not UTF-8, images of mixed sizes and modes, a file that is not an image, labels out of
range or of the wrong type, a single class."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from idinit_hf.training.errors import run_cli

from .scripts_helpers import TINY, fails, load_script, run_main

pytestmark = pytest.mark.slow  # runs the scripts: the full suite only
STEPS = ["--max_train_steps", "2", "--per_device_train_batch_size", "4"]


def test_text_that_is_not_utf8_names_the_byte(tmp_path, capsys):
    text = tmp_path / "latin1.txt"
    text.write_bytes("Le café est prêt. Une phrase assez longue pour un bloc.\n".encode("latin-1") * 20)
    err = fails("clm", [*TINY["clm"], *STEPS, "--train_file", str(text), "--output_dir", str(tmp_path / "out")],
                capsys)
    assert f"{text} is not UTF-8 text: byte 0xe9" in err and "iconv" in err, err
    assert not (tmp_path / "out").exists()


def image_folder(root, images: dict[str, list[Image.Image]], metadata: list[dict] | None = None):
    """``root/<class>/<i>.png`` for each class, and an optional ``metadata.jsonl`` (imagefolder's own labels)."""
    for label, items in images.items():
        (root / label).mkdir(parents=True)
        for index, image in enumerate(items):
            image.save(root / label / f"{index}.png")
    if metadata is not None:
        (root / "metadata.jsonl").write_text("".join(json.dumps(row) + "\n" for row in metadata))
    return root


def test_images_of_mixed_sizes_and_modes_are_converted_and_train(tmp_path):
    """8x8 grayscale, 12x10 RGB, 9x7 RGBA, 8x8 palette, 16x16 1-bit: resized and converted to the config."""
    mixed = [Image.new("L", (8, 8), 30), Image.new("RGB", (12, 10), (200, 10, 10)), Image.new("RGBA", (9, 7)),
             Image.new("P", (8, 8), 3), Image.new("1", (16, 16), 1)]
    folder = image_folder(tmp_path / "images", {"a": mixed, "b": mixed[::-1]})
    out = tmp_path / "out"
    for channels in (1, 3):
        overrides = TINY["vit"][1].replace("num_channels=1", f"num_channels={channels}")
        run_main("vit", "--config_overrides", overrides, *STEPS, "--train_dir", str(folder),
                 "--validation_split_percentage", "20", "--output_dir", str(out), "--overwrite_output_dir")
        results = json.loads((out / "all_results.json").read_text())
        assert results["num_labels"] == 2 and results["train_steps"] == 2


def test_a_file_that_is_not_an_image_is_named(tmp_path, capsys):
    folder = image_folder(tmp_path / "images", {"a": [Image.new("L", (8, 8))] * 2, "b": [Image.new("L", (8, 8))] * 2})
    (folder / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    err = fails("vit", [*TINY["vit"], *STEPS, "--train_dir", str(folder), "--output_dir", str(tmp_path / "out")],
                capsys)
    assert f"--train_dir: {folder / 'b' / 'broken.png'} is not a readable image" in err, err


def test_labels_out_of_range_in_a_local_folder_fail_before_training(tmp_path, capsys):
    """imagefolder takes the labels of ``metadata.jsonl`` as they are: -1 (a common 'unlabelled') is refused."""
    images = {"all": [Image.new("L", (8, 8), v) for v in (0, 80, 160, 240)]}
    metadata = [{"file_name": f"all/{i}.png", "label": label} for i, label in enumerate((0, 1, 1, -1))]
    folder = image_folder(tmp_path / "images", images, metadata)
    err = fails("vit", [*TINY["vit"], *STEPS, "--train_dir", str(folder), "--output_dir", str(tmp_path / "out")],
                capsys)
    assert "label -1 in the train data is out of range: labels must be in [0, 2)" in err, err


def test_whitespace_only_text_has_fewer_tokens_than_a_block(tmp_path, capsys):
    text = tmp_path / "blank.txt"
    text.write_text("\n \n\n")
    err = fails("clm", [*TINY["clm"], *STEPS, "--train_file", str(text), "--output_dir", str(tmp_path / "out")],
                capsys)
    assert "the train data has fewer tokens than one block of --block_size 32" in err, err


def test_wrong_types_on_the_command_line(tmp_path, capsys):
    for flag, value, message in (("--idinit_tau", "abc", "argument --idinit_tau: 'abc' is not a finite number > 0"),
                                 ("--max_train_steps", "2.5", "argument --max_train_steps: invalid _positive_int"),
                                 ("--learning_rate", "nan", "argument --learning_rate: must be a finite number")):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(load_script("clm").main, [*TINY["clm"], flag, value, "--output_dir", str(tmp_path / "out")])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
