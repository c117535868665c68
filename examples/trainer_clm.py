"""Pretrain an IDInit GPT-2 with Hugging Face's own ``Trainer``: the flag in the config is all it takes.

    python examples/trainer_clm.py --output_dir out/trainer-gpt2                    # 200 steps, a few minutes on a CPU
    python examples/trainer_clm.py --output_dir out/trainer-gpt2 --max_steps 300 --resume   # continue from the last checkpoint
    python examples/trainer_clm.py --model_type llama --output_dir out/trainer-llama

The data is CPython's own reference text (``pydoc_data.topics``), read as UTF-8 bytes (a 256-token vocabulary,
no tokenizer to train). The checkpoints are Trainer's own, and the saved model loads with stock transformers.
"""

from __future__ import annotations

import argparse

import torch
import transformers
from datasets import Dataset
from transformers import AutoConfig, Trainer, TrainingArguments

import idinit_hf

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--output_dir", required=True)
CAUSAL_TYPES = [t for f in idinit_hf.FAMILIES if f.pretraining == "AutoModelForCausalLM" for t in f.model_types]
parser.add_argument("--model_type", default="gpt2", choices=CAUSAL_TYPES, help="any causal LM idinit_hf covers")
parser.add_argument("--max_steps", type=int, default=200)
parser.add_argument("--save_steps", type=int, default=50)
parser.add_argument("--block_size", type=int, default=64)
parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output_dir")
args = parser.parse_args()

# 1. The data: contiguous 64-byte blocks of reference text; 5 % held out for evaluation.
from pydoc_data.topics import topics  # noqa: E402 (the embedded corpus every Python has)

data = torch.tensor(list("\n".join(topics[k] for k in sorted(topics)).encode("utf-8")))
blocks = data[: len(data) // args.block_size * args.block_size].view(-1, args.block_size).tolist()
split = int(0.95 * len(blocks))
train_data = Dataset.from_dict({"input_ids": blocks[:split], "labels": blocks[:split]})
eval_data = Dataset.from_dict({"input_ids": blocks[split:][:64], "labels": blocks[split:][:64]})

# 2. The model: a stock config with init_method="idinit". After install(), transformers' own Auto class builds
#    it with IDInit weights (idinit_hf.AutoModelForCausalLM would do the same without install()).
#    The registry says how to size the architecture: 4 blocks of width 128 (heads, key/value heads, MLP width).
idinit_hf.install()
sizes = idinit_hf.family_for(AutoConfig.for_model(args.model_type)).scale(4, 128)
config = AutoConfig.for_model(args.model_type, vocab_size=256, max_position_embeddings=args.block_size,
                              bos_token_id=0, eos_token_id=0, init_method="idinit", **sizes)
model = transformers.AutoModelForCausalLM.from_config(config)
print(f"{args.model_type}: {model.num_parameters() / 1e6:.2f} M parameters; IDInit verified: "
      f"{idinit_hf.verify(model).ok}")

# 3. Train with Trainer: its checkpoints, its resume, its logging.
training_args = TrainingArguments(
    output_dir=args.output_dir, max_steps=args.max_steps, per_device_train_batch_size=16, learning_rate=1e-3,
    warmup_steps=20, weight_decay=0.01, lr_scheduler_type="cosine", logging_steps=10, eval_strategy="steps",
    eval_steps=args.save_steps, save_steps=args.save_steps, save_total_limit=2, report_to=[], use_cpu=True,
    seed=0, dataloader_num_workers=0,
)
trainer = Trainer(model=model, args=training_args, train_dataset=train_data, eval_dataset=eval_data)
trainer.train(resume_from_checkpoint=True if args.resume else None)
metrics = trainer.evaluate()
print(f"step {trainer.state.global_step}: eval loss {metrics['eval_loss']:.4f}")

# 4. Save: a stock checkpoint ("architectures" names the stock class; init_method stays in config.json).
trainer.save_model(args.output_dir)
idinit_hf.uninstall()
reloaded = transformers.AutoModelForCausalLM.from_pretrained(args.output_dir)
print(f"saved to {args.output_dir}; reloads as {type(reloaded).__name__} with stock transformers")
