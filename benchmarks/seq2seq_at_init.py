"""Why IDInit trailed the default init on a 4-layer T5 (issue 21): what the model does at init, and one training screen.
IDInit here keeps the paper's IDIZε on every branch (``mlp_out=idiz``); T5's default since issue 19 leaves its MLP
outputs to T5's own init (docs/defaults.md, "T5's MLP output"), and then its blocks are no identities at init.

    python benchmarks/seq2seq_at_init.py                                   # at init: default, idinit, variants
    python benchmarks/seq2seq_at_init.py --train --train_method idinit:query_scale=1,mlp_out=idiz   # + training

At init, on the validation batches of the convergence benchmark's T5 setting (pydoc text, width 64, 4 layers):

* the loss, and the mean logit of the decoder's own input token: with every block an identity, the decoder's last
  state is its input token's embedding, and T5's tied head (the N(0, 1) table, × d^-½) gives that token a logit of
  about √d (a copy bias) where the library init's random branches dilute it;
* the gradient norm reaching the encoder's blocks and the decoder's: the loss reaches the encoder only through the
  cross-attention, whose output projection is IDIZε under IDInit.

``--train`` trains ``--train_method`` (IDInit with IDIZε on every branch by default) with the cross-attention
output projections redrawn by the library's rule (N(0, (heads·d_kv)^-½)) with the convergence benchmark's settings
(``common.train_run``): does feeding the encoder gradient from the first step close the gap? Prints a table; writes
nothing.
"""

from __future__ import annotations

import argparse

import torch
from common import Batches, RunSettings, build, evaluate, load_text, train_run

#: The convergence benchmark's T5 setting (docs/results.md: t5, 4 layers).
SETTINGS = RunSettings(steps=600, eval_every=25, eval_batches=4, batch_size=16, block_size=64, width=64, lr=1e-3,
                       warmup=50)
DEPTH = 4


def at_init(method: str, splits, seed: int) -> dict:
    """Loss, the decoder-input token's mean logit, and block gradient norms of ``method``'s T5 before training."""
    model = build("t5", method, DEPTH, SETTINGS.width, SETTINGS.block_size, 0, seed)
    batches = Batches(splits, "t5", SETTINGS.batch_size, SETTINGS.block_size, seed)
    evaluation = batches.evaluation("validation", SETTINGS.eval_batches)
    loss, _ = evaluate(model, evaluation)
    batch = evaluation[0]
    model.eval()  # no dropout: the gradients of the weights as they are
    out = model(**batch)
    out.loss.backward()
    own = out.logits.gather(-1, model._shift_right(batch["labels"]).unsqueeze(-1))

    def norm(prefix: str) -> float:
        return sum(float(p.grad.norm()) ** 2 for n, p in model.named_parameters()
                   if n.startswith(prefix) and p.grad is not None) ** 0.5

    return {"loss": loss, "own_logit": float(own.detach().mean()), "logit_std": float(out.logits.detach().std()),
            "encoder_grad": norm("encoder.block"), "decoder_grad": norm("decoder.block")}


def redraw_cross_attention_out(model: torch.nn.Module, seed: int) -> None:
    """The library's rule for T5's cross-attention ``o`` (``T5PreTrainedModel._init_weights``)."""
    generator = torch.Generator().manual_seed(1000 + seed)
    std = (model.config.num_heads * model.config.d_kv) ** -0.5
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.endswith("EncDecAttention.o"):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=[
        "default", "idinit:mlp_out=idiz", "idinit:query_scale=1,mlp_out=idiz",
        "idinit:query_scale=1,mlp_out=idiz,token_table=small", "idinit", "zero-branch-out"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--train", action="store_true", help="also train --train_method with the cross-attention o redrawn")
    parser.add_argument("--train_method", default="idinit:mlp_out=idiz",
                        help="the IDInit variant --train starts from")
    args = parser.parse_args(argv)
    splits = load_text(None)
    print("| method | seed | loss at init | logit of the decoder's input token | logit std | "
          "‖grad‖ encoder blocks | ‖grad‖ decoder blocks |\n|---|---|---|---|---|---|---|")
    for method in args.methods:
        for seed in args.seeds:
            r = at_init(method, splits, seed)
            print(f"| {method} | {seed} | {r['loss']:.3f} | {r['own_logit']:.2f} | {r['logit_std']:.2f} | "
                  f"{r['encoder_grad']:.1e} | {r['decoder_grad']:.1e} |")
    if args.train:
        print(f"\n| {args.train_method}, cross-attention o redrawn | seed | final validation loss | test loss |"
              "\n|---|---|---|---|")
        for seed in args.seeds:
            model = build("t5", args.train_method, DEPTH, SETTINGS.width, SETTINGS.block_size, 0, seed)
            redraw_cross_attention_out(model, seed)
            batches = Batches(splits, "t5", SETTINGS.batch_size, SETTINGS.block_size, seed)
            curve = train_run(model, batches, SETTINGS)["curve"]
            test, _ = evaluate(model, batches.evaluation("test", SETTINGS.eval_batches))
            print(f"| | {seed} | {curve[-1][1]:.4f} | {test:.4f} |")


if __name__ == "__main__":
    main()
