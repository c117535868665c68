#!/usr/bin/env python
"""Pretrain a masked language model (BERT by default) from scratch, with IDInit or the default init.

    accelerate launch --num_processes 4 --mixed_precision bf16 scripts/pretrain_mlm.py \
        --config_overrides num_hidden_layers=24 --init_method idinit --output_dir out/bert-idinit

With no data flag it trains on CPython's reference texts (``pydoc_data.topics``), which every Python install has.
Every flag: ``--help`` and docs/scripts.md. The steps below are the whole recipe; the shared pieces live in
``idinit_hf.training``.
"""

from __future__ import annotations

from accelerate.utils import set_seed

from idinit_hf.training.args import parse_args
from idinit_hf.training.checkpoints import check_compatible, resolve_resume, saved_tokenizer
from idinit_hf.training.data.text import SeededMaskingCollator, check_block_size, describe_blocks, load_text
from idinit_hf.training.errors import run_cli
from idinit_hf.training.loop import TrainingJob, make_accelerator, train
from idinit_hf.training.modeling import (
    base_config,
    build_model,
    context_length,
    enable_gradient_checkpointing,
    set_tokenizer_fields,
)
from idinit_hf.training.outputs import prepare_output_dir, save_final
from idinit_hf.training.runtime import start
from idinit_hf.training.tasks import TASKS
from idinit_hf.training.throughput import flops_per_token
from idinit_hf.training.tokenization import get_tokenizer


def main(argv=None) -> dict:
    task = TASKS["mlm"]
    args = parse_args(task.name, __doc__.splitlines()[0], argv)

    # 1. Processes and precision first: a bf16 request that some rank cannot honour stops here.
    state, precision = start(args)
    resume = resolve_resume(args.resume_from_checkpoint, args.output_dir, task.name)

    # 2. Raw text, with a validation split; with --streaming a stream that is read during training.
    with state.main_process_first():
        text = load_text(args)

    # 3. Model config from the flags (IDInit options included), then the tokenizer it implies (WordPiece).
    config = base_config(args, task.name)
    block_size = check_block_size(args.block_size, context_length(config))
    from_checkpoint = None if args.tokenizer_name else saved_tokenizer(resume)  # resuming: the same tokenizer
    tokenizer = get_tokenizer(args, text.tokenizer_corpus, text.column, task.name, context_length(config), state,
                              from_checkpoint)
    set_tokenizer_fields(config, tokenizer)
    if resume:  # a checkpoint of another model fails here, before any training
        check_compatible(resume, config.to_dict())

    # 4. Tokenize ([CLS] text [SEP] per document) and cut into blocks; the special-token mask keeps [CLS]/[SEP]
    #    out of the masking.
    with state.main_process_first():
        train_data, eval_blocks = text.blocks(tokenizer, block_size, args, state, add_eos=False,
                                              special_tokens_mask=True)
    train_data.check(state)  # with --streaming: every process's shard holds at least one block

    # 5. The model. set_seed makes the initialization identical on every rank.
    accelerator = make_accelerator(args, precision)
    set_seed(args.seed)
    model = build_model(task.name, config)
    if args.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    prepare_output_dir(args, accelerator, model)  # checks the free space before it deletes anything
    accelerator.print(f"{config.model_type}: {model.num_parameters() / 1e6:.2f} M parameters, "
                      f"init {config.init_method}, {describe_blocks(train_data, block_size)}")

    # 6. Train with the standard masking collator (80% [MASK], 10% random, 10% kept), seeded per batch so a
    #    resumed run masks exactly as the uninterrupted one; evaluate loss, perplexity and masked-token accuracy.
    collator = SeededMaskingCollator(tokenizer, args.mlm_probability, args.seed)
    with state.main_process_first():
        evaluator = task.evaluator()
    job = TrainingJob(
        args=args, accelerator=accelerator, model=model, task=task, train_data=train_data,
        eval_dataset=eval_blocks, collate_fn=collator, evaluator=evaluator, savers=(tokenizer,),
        config_dict=config.to_dict(), resume_from=resume,
        flops_per_unit=flops_per_token(model, block_size), on_epoch=lambda epoch: setattr(collator, "epoch", epoch),
    )
    result = train(job)

    # 7. Save: model (safetensors), tokenizer, all_results.json, loss_curve.png, README.md model card.
    results = save_final(args, accelerator, result.model, config, (tokenizer,), result, text.source,
                         task.script, {"block_size": block_size, "mixed_precision": precision,
                                                     "mlm_probability": args.mlm_probability})
    accelerator.wait_for_everyone()  # before end_training: without it 2-process CPU runs can abort at exit
    accelerator.end_training()
    return results


if __name__ == "__main__":
    run_cli(main)
