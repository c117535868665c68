#!/usr/bin/env python
"""Pretrain an encoder-decoder (T5 or BART) from scratch with IDInit, then reload it in stock transformers.

    python examples/seq2seq_from_scratch.py                      # T5, 300 steps: a few minutes on 2 CPU cores
    python examples/seq2seq_from_scratch.py --model_type bart --steps 400 --output_dir /tmp/bart-idinit

The data is CPython's own reference text (``pydoc_data.topics``, bytes as tokens: no tokenizer to train). The
objective is idinit_hf's sequence-to-sequence one (``idinit_hf.objectives.SEQ2SEQ_LM``): the encoder reads a window
of text and the decoder predicts the window that follows, token by token. The script

1. builds the model from a config that asks for IDInit (``init_method="idinit"``), checks every layer
   (``idinit_hf.verify``) and prints how far each block's branches move the stream at init (``identity_report``): every
   attention branch ≈ 0; the MLP branches too, except T5's, which keep T5's own output layer by default
   (``idinit_mlp_out="default"``, docs/defaults.md; ``idinit_mlp_out="idiz"`` in the config is the paper's rule);
2. trains it with AdamW (warm-up, cosine decay, clipping), printing the training loss and, at the end, the loss on a
   held-out part of the text;
3. saves it, reloads it with ``transformers.AutoModelForSeq2SeqLM`` alone (no idinit_hf: the checkpoint is stock),
   checks the weights are bit-identical, and lets the reloaded model continue a held-out window greedily.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
import transformers
from transformers import get_cosine_schedule_with_warmup

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import idinit_hf  # noqa: E402
from idinit_hf import testing  # noqa: E402

#: model type → the registry family whose table covers it
FAMILIES = {"t5": "t5", "mt5": "t5", "bart": "bart", "mbart": "mbart", "pegasus": "mbart"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_type", default="t5", choices=sorted(FAMILIES))
    parser.add_argument("--layers", type=int, default=4, help="blocks in each of the encoder and the decoder")
    parser.add_argument("--width", type=int, default=128, help="model width (heads of width 16)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--window", type=int, default=64, help="tokens per example: half encoder, half decoder")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output_dir", default=None, help="where to save the model (default: a temporary folder)")
    args = parser.parse_args(argv)
    for name in ("layers", "width", "steps", "batch_size", "window"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be > 0; got {getattr(args, name)}")
    if args.width % 16 or args.window % 2:
        parser.error(f"--width must be a multiple of 16 and --window even; got {args.width} and {args.window}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    family = FAMILIES[args.model_type]
    shape = testing.data_shape(family, length=args.window)  # 256 byte ids + one [PAD] / decoder start id
    objective = testing.family(family).objective
    text = testing.text_bytes(10**7)  # the whole reference text (0.47 MB)
    split = int(0.95 * len(text))
    train, held_out = text[:split], text[split:]

    # 1. A config that asks for IDInit (the options are config attributes), its model, and what it holds
    config = testing.tiny_config(family, args.layers, args.width, data=shape, dropout=0.0,
                                 model_type=args.model_type, init_method="idinit")
    model = idinit_hf.AutoModelForSeq2SeqLM.from_config(config)
    report = idinit_hf.verify(model)
    sample = held_out[: 4 * args.window].view(4, args.window)
    identity = idinit_hf.identity_report(model, objective.inputs(sample, shape=shape))
    print(f"{type(model).__name__}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, "
          f"{len(identity.blocks)} blocks (encoder + decoder)")
    # each branch's output relative to the stream it reads (post-LN blocks, BART's, map x to LN(x) at init)
    attention = max(block.attention_branch for block in identity.blocks)
    mlp = max(block.mlp_branch for block in identity.blocks)
    print(f"IDInit verified: {report.ok} ({len(report.layers)} parameters checked); at init, largest attention branch "
          f"{attention:.1e}, largest MLP branch {mlp:.1e} (idinit_mlp_out={idinit_hf.read_options(config).mlp_out!r})")

    # 2. Train: the encoder reads a window, the decoder predicts the next one
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    scheduler = get_cosine_schedule_with_warmup(optimizer, max(1, args.steps // 10), args.steps)
    model.train()
    for step in range(1, args.steps + 1):
        starts = torch.randint(0, len(train) - args.window, (args.batch_size,)).tolist()
        batch = objective.batch(torch.stack([train[s : s + args.window] for s in starts]), shape=shape)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        if step == 1 or step % 50 == 0 or step == args.steps:
            print(f"step {step:4d}  train loss {loss.item():.3f}")
    model.eval()
    windows = held_out[: (len(held_out) // args.window) * args.window].view(-1, args.window)[:64]
    with torch.no_grad():
        held_out_loss = model(**objective.batch(windows, shape=shape)).loss.item()
    print(f"held-out loss {held_out_loss:.3f} (the next window of text, per token, in nats)")

    # 3. Save; reload with stock transformers alone; bit-identical; continue a held-out window
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.output_dir or scratch
        model.save_pretrained(folder)
        stock = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder)
        same = all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), stock.state_dict().values(),
                                                     strict=True))
        print(f"reloads as {type(stock).__name__} in stock transformers: bit-identical={same}, "
              f"init_method={stock.config.init_method!r}")
        source = windows[:1, : args.window // 2]
        generated = stock.generate(source, max_new_tokens=args.window // 2, do_sample=False,
                                   decoder_start_token_id=shape.pad_id, pad_token_id=shape.pad_id,
                                   eos_token_id=None)
        print(f"source:    {bytes(source[0].tolist()).decode('utf-8', 'replace')!r}")
        print(f"generated: {bytes([t for t in generated[0].tolist() if t < 256]).decode('utf-8', 'replace')!r}")
        if not same:
            raise SystemExit("the reloaded weights differ")


if __name__ == "__main__":
    main()
