#!/usr/bin/env python
"""Pretrain an image classifier from scratch (ViT, ResNet, ConvNeXt, ...), with IDInit or the default init.

    accelerate launch scripts/pretrain_vit.py --init_method default \
        --config_overrides image_size=8,patch_size=2,num_hidden_layers=4,hidden_size=64 --output_dir out/vit-default
    accelerate launch scripts/pretrain_vit.py --model_type resnet --image_size 32 --init_method idinit \
        --config_overrides "layer_type=basic,embedding_size=16,hidden_sizes=[16,32],depths=[2,2]" --output_dir out/resnet

``--model_type`` is any image-classification model type of the registry (vit, dinov2, beit, resnet, regnet,
convnext, convnextv2, ...: ``idinit_hf.supported_model_types()``); the name of the script is ViT's, the first one it
trained. Images are resized to the config's ``image_size`` where it has one, else to ``--image_size`` (ResNet,
RegNet). With no data flag it trains on scikit-learn's 8x8 handwritten digits (``load_digits``, 1 797 images, 10
classes), which every install has. Every flag: ``--help`` and docs/scripts.md. The steps below are the whole
recipe; the shared pieces live in ``idinit_hf.training``.
"""

from __future__ import annotations

from accelerate.utils import set_seed

from idinit_hf.training.args import parse_args
from idinit_hf.training.checkpoints import check_compatible, resolve_resume
from idinit_hf.training.data.images import (
    collate_images,
    image_mode,
    image_processor_for,
    image_side,
    image_transform,
    load_image_datasets,
)
from idinit_hf.training.data.train_data import InMemoryData
from idinit_hf.training.errors import BadInputError, run_cli
from idinit_hf.training.loop import TrainingJob, make_accelerator, train
from idinit_hf.training.modeling import base_config, build_model, enable_gradient_checkpointing
from idinit_hf.training.outputs import prepare_output_dir, save_final
from idinit_hf.training.runtime import start
from idinit_hf.training.tasks import TASKS
from idinit_hf.training.throughput import flops_per_image


def main(argv=None) -> dict:
    task = TASKS["vit"]
    args = parse_args(task.name, __doc__.splitlines()[0], argv)

    # 1. Processes and precision first: a bf16 request that some rank cannot honour stops here.
    state, precision = start(args)
    resume = resolve_resume(args.resume_from_checkpoint, args.output_dir, task.name)

    # 2. Raw images and labels, with a validation split.
    with state.main_process_first():
        raw, labels, data_source = load_image_datasets(args)

    # 3. Model config from the flags (IDInit options included); the labels come from the data. The config must
    #    fit the data: images are resized to the config's image_size (or --image_size where the config has none:
    #    convolutional networks) and converted to num_channels (grayscale <-> RGB).
    config = base_config(args, task.name)
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {name: index for index, name in enumerate(labels)}
    if config.num_channels not in (1, 3):
        raise BadInputError(f"num_channels={config.num_channels}: images can be converted to 1 or 3 channels only")
    side = image_side(args, config)
    patch = getattr(config, "patch_size", None)  # a patch transformer's, or ConvNeXt's stem
    if isinstance(patch, int) and side % patch:
        raise BadInputError(f"image_size={side} is not a multiple of patch_size={patch}")
    processor = image_processor_for(args, config)
    processed = processor(raw["train"][0][args.image_column_name].convert(image_mode(config.num_channels)),
                          return_tensors="pt")["pixel_values"]
    if tuple(processed.shape[1:]) != (config.num_channels, side, side):
        raise BadInputError(f"the image processor makes {tuple(processed.shape[1:])} images but the config expects "
                            f"{(config.num_channels, side, side)}")
    if resume:  # a checkpoint of another model fails here, before any training
        check_compatible(resume, config.to_dict())
    transform = image_transform(processor, config.num_channels, args.image_column_name, args.label_column_name)
    datasets = {split: data.with_transform(transform) for split, data in raw.items()}

    # 4. The model. set_seed makes the initialization identical on every rank.
    accelerator = make_accelerator(args, precision)
    set_seed(args.seed)
    model = build_model(task.name, config)
    if args.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    prepare_output_dir(args, accelerator, model)  # checks the free space before it deletes anything
    accelerator.print(f"{config.model_type}: {model.num_parameters() / 1e6:.2f} M parameters, "
                      f"init {config.init_method}, {len(datasets['train'])} training images, {len(labels)} classes")

    # 5. Train; evaluate loss and top-1 accuracy on the validation images. The FLOPs of an image (the MFU in the
    #    logs): a patch transformer's (image_size / patch_size)^2 patches plus [CLS], a conv net's counted by torch.
    image_flops = flops_per_image(model, side)
    with state.main_process_first():
        evaluator = task.evaluator()
    job = TrainingJob(
        args=args, accelerator=accelerator, model=model, task=task, train_data=InMemoryData(datasets["train"]),
        eval_dataset=datasets.get("validation"), collate_fn=collate_images, evaluator=evaluator, savers=(processor,),
        config_dict=config.to_dict(), resume_from=resume, flops_per_unit=image_flops,
    )
    result = train(job)

    # 6. Save: model (safetensors), image processor, all_results.json, loss_curve.png, README.md model card.
    results = save_final(args, accelerator, result.model, config, (processor,), result, data_source,
                         task.script, {"mixed_precision": precision, "num_labels": len(labels)})
    accelerator.wait_for_everyone()  # before end_training: without it 2-process CPU runs can abort at exit
    accelerator.end_training()
    return results


if __name__ == "__main__":
    run_cli(main)
