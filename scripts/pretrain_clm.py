#!/usr/bin/env python
"""Pretrain a causal language model (GPT-2 by default) from scratch, with IDInit or the default init.

    accelerate launch scripts/pretrain_clm.py --model_type gpt2 --init_method idinit --output_dir out/gpt2-idinit

With no data flag it trains on CPython's reference texts (``pydoc_data.topics``), which every Python install has.
Every flag: ``--help`` and docs/scripts.md. The steps below are the whole recipe; the shared pieces live in
``idinit_hf.training``.
"""

from __future__ import annotations

from accelerate.utils import set_seed
from transformers import default_data_collator

from idinit_hf.training.args import parse_args
from idinit_hf.training.checkpoints import check_compatible, resolve_resume, saved_tokenizer
from idinit_hf.training.data.text import check_block_size, describe_blocks, load_text
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
    task = TASKS["clm"]
    args = parse_args(task.name, __doc__.splitlines()[0], argv)

    # 1. Processes and precision first: a bf16 request that some rank cannot honour stops here.
    state, precision = start(args)
    resume = resolve_resume(args.resume_from_checkpoint, args.output_dir, task.name)

    # 2. Raw text, with a validation split; with --streaming a stream that is read during training.
    with state.main_process_first():
        text = load_text(args)

    # 3. Model config from the flags (IDInit options included), then the tokenizer it implies.
    config = base_config(args, task.name)
    block_size = check_block_size(args.block_size, context_length(config))
    from_checkpoint = None if args.tokenizer_name else saved_tokenizer(resume)  # resuming: the same tokenizer
    tokenizer = get_tokenizer(args, text.tokenizer_corpus, text.column, task.name, context_length(config), state,
                              from_checkpoint)
    set_tokenizer_fields(config, tokenizer)
    if resume:  # a checkpoint of another model fails here, before any training
        check_compatible(resume, config.to_dict())

    # 4. Tokenize and cut into blocks (cached by datasets; the main process computes, the others reuse).
    with state.main_process_first():
        train_data, eval_blocks = text.blocks(tokenizer, block_size, args, state, add_eos=True,
                                              special_tokens_mask=False)
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

    # 6. Train: loss and perplexity on the validation blocks every --eval_steps and at the end.
    with state.main_process_first():
        evaluator = task.evaluator()
    job = TrainingJob(
        args=args, accelerator=accelerator, model=model, task=task, train_data=train_data,
        eval_dataset=eval_blocks, collate_fn=default_data_collator, evaluator=evaluator, savers=(tokenizer,),
        config_dict=config.to_dict(), resume_from=resume,
        flops_per_unit=flops_per_token(model, block_size),
    )
    result = train(job)

    # 7. Save: model (safetensors), tokenizer, all_results.json, loss_curve.png, README.md model card.
    results = save_final(args, accelerator, result.model, config, (tokenizer,), result, text.source,
                         task.script, {"block_size": block_size, "mixed_precision": precision})
    accelerator.wait_for_everyone()  # before end_training: without it 2-process CPU runs can abort at exit
    accelerator.end_training()
    return results


if __name__ == "__main__":
    run_cli(main)
