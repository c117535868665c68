"""Training dynamics, default init against IDInit (and its variants), over the first few hundred steps (issue 12).

    python benchmarks/dynamics.py --family gpt2                                   # pydoc_data text, a few minutes
    python benchmarks/dynamics.py --family gpt2 --text_dir ../shared/data/text/sotu --depth 8 --width 128 \\
        --block_size 128 --steps 300 --methods default idinit idinit:query_scale=0
    python benchmarks/dynamics.py --family vit --image_dir ../shared/data/images/fashion-mnist --depth 16

Every method trains from the same seed on the same batches (benchmarks/common.py: data, models, the training
loop). Every ``--every`` steps, and at init, it records:

* per layer and role weight (``q``, ``k``, ``v``, ``attn_out``, ``mlp_in``, ``mlp_out``; GPT-2's fused ``c_attn``
  split into its Q, K, V blocks): the raw gradient norm (before clipping), the size of the optimizer's update
  ‖ΔW‖ and the weight norm ‖W‖;
* on a fixed validation batch: the attention entropy per layer and head, as a fraction of uniform attention over
  the same keys; the mean attention weight of each token on itself; the output of each residual branch (the
  IDIZ layers) relative to the residual stream (``idinit_hf.identity_report``);
* the scales the paper leaves open (issue 19): the RMS of the residual stream entering every block and after the
  last one (``stream``), the standard deviation of the logits over the vocabulary or classes (``logit_std``), and
  the gradient, update and weight norms of the embedding tables (``embedding``: token table and, where a family
  has them, position / token-type tables and ViT's class token and positions) and of an untied head (``head``);
* ViT: the spread of the class token's final state (the classifier's input) across images,
  mean ‖h_i − mean h‖ / mean ‖h_i‖ (0 = the same vector for every image), and the class token's attention on
  itself;
* the replica spread of every MLP up- (and gate) projection (``idinit_hf.replica_spread``): how far the rows IDIτ
  replicates have come apart (0 = tied copies, about √2 = independent rows; issue 19);
* the validation loss (every ``--every`` steps) and the training loss.

Writes results/dynamics_<family>.json and results/dynamics_<family>.png (``--output_dir``).
"""

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import torch
from common import (
    FAMILIES,
    Batches,
    RunSettings,
    build,
    is_image,
    load_images,
    load_text,
    method_name,
    train_run,
)

import idinit_hf
from idinit_hf.diagnostics import role_slots
from idinit_hf.roles import Role

RESULTS = Path(__file__).parent / "results"
GROUPS = ("q", "k", "v", "attn_out", "mlp_in", "mlp_out", "embedding", "head")
_QKV = {"query": "q", "q_proj": "q", "key": "k", "k_proj": "k", "value": "v", "v_proj": "v"}



parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--family", default="gpt2", choices=FAMILIES)
parser.add_argument("--methods", nargs="+", type=method_name, default=["default", "idinit"],
                    help="default, idinit, or IDInit variants idinit:key=value,...")
parser.add_argument("--depth", type=int, default=8)
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--every", type=int, default=10, help="record every N steps")
parser.add_argument("--batch_size", type=int, default=16, help="ViT: 4x this, as in convergence.py")
parser.add_argument("--block_size", type=int, default=64)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--warmup", type=int, default=50)
parser.add_argument("--weight_decay", type=float, default=0.01)
parser.add_argument("--eval_batches", type=int, default=4)
parser.add_argument("--probe_size", type=int, default=16, help="sequences or images of the probe batch")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--text_dir", default=None, help="folder of *.txt files (default: CPython's pydoc_data)")
parser.add_argument("--image_dir", default=None, help="Fashion-MNIST IDX folder (default: sklearn digits)")
parser.add_argument("--output_dir", default=str(RESULTS))
parser.add_argument("--tag", default="", help="suffix of the output files: dynamics_<family><tag>.json")
args = parser.parse_args()
torch.set_num_threads(max(1, torch.get_num_threads()))

# ---- data and settings ------------------------------------------------------------------------------------------------
IMAGE = is_image(args.family)  # image families: the class token's spread over images is measured too
splits = load_images(args.image_dir) if IMAGE else load_text(args.text_dir)
batch_size = 4 * args.batch_size if IMAGE else args.batch_size
settings = RunSettings(steps=args.steps, eval_every=args.every, eval_batches=args.eval_batches, batch_size=batch_size,
                       block_size=args.block_size, width=args.width, lr=args.lr, weight_decay=args.weight_decay,
                       warmup=args.warmup)
probe_batch = Batches(splits, args.family, batch_size, args.block_size, args.seed).evaluation("validation", 1)[0]
probe = {k: v[: args.probe_size] for k, v in probe_batch.items() if k != "labels"}


# ---- what is measured ---------------------------------------------------------------------------------------------------
def role_weights(model) -> list[tuple[str, int, torch.nn.Parameter, int, int]]:
    """(group, layer, weight, block index, out dim) of every role weight; a fused Q|K|V weight gives three blocks.
    Embedding tables are the group ``embedding`` (one entry per table), an LM or classifier head ``head`` (a head
    tied to the token table is that table, and counted once)."""
    parts, layer_of, seen = [], {}, set()
    roles = {Role.ATTENTION_IN: None, Role.ATTENTION_OUT: "attn_out", Role.MLP_IN: "mlp_in", Role.MLP_OUT: "mlp_out"}
    for role, group in ((Role.EMBEDDING, "embedding"), (Role.HEAD, "head")):
        for located in role_slots(model, role):
            for name in located.slot.params:
                weight = getattr(located.module, name, None)
                if isinstance(weight, torch.nn.Parameter) and id(weight) not in seen:
                    seen.add(id(weight))
                    layer_of[group] = layer_of.get(group, -1) + 1
                    parts.append((group, layer_of[group], weight, 0, 0))
    for role, group in roles.items():
        for located in role_slots(model, role):
            module, slot = located.module, located.slot
            out_dim = 1 if slot.transposed else 0
            if slot.fused:
                n_in = module.weight.shape[1 - out_dim]
                blocks = list(zip("qkv", range(module.weight.shape[out_dim] // n_in), strict=False))
            else:
                suffix = located.name.rsplit(".", 1)[-1]
                blocks = [(group or _QKV.get(suffix, suffix), 0)]
            for name, index in blocks:
                layer = layer_of.get(name, 0)
                layer_of[name] = layer + 1
                parts.append((name, layer, module.weight, index, out_dim))
    return parts


def block_of(tensor: torch.Tensor, index: int, out_dim: int, fused: bool) -> torch.Tensor:
    if not fused:
        return tensor
    n_in = tensor.shape[1 - out_dim]
    return tensor.narrow(out_dim, index * n_in, n_in)


@torch.no_grad()
def probe_model(model) -> dict:
    """Attention entropy per head, self-attention weight, branch sizes, class-token spread, on the probe batch."""
    report = idinit_hf.identity_report(model, probe)
    captured = {}
    hook = None
    if IMAGE:
        hook = model.classifier.register_forward_hook(lambda m, a, o: captured.setdefault("cls", a[0].detach()))
    was_training = model.training
    model.eval()
    previous = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        outputs = model(**probe, output_attentions=True, output_hidden_states=True)
    finally:
        model.set_attn_implementation(previous)
        model.train(was_training)
        if hook is not None:
            hook.remove()
    attentions = outputs.attentions
    entropy, self_weight, cls_self = [], [], []
    for probs in attentions:
        probs = probs.float()
        row = -(probs * probs.clamp_min(1e-30).log()).sum(-1)
        support = (probs > 0).sum(-1).clamp_min(2).float().log()
        entropy.append((row / support).mean(dim=(0, 2)).tolist())  # per head
        self_weight.append(float(probs.diagonal(dim1=-2, dim2=-1).mean()))
        cls_self.append(float(probs[:, :, 0, 0].mean()))
    # RMS per token of the residual stream entering each block (and after the last block, before its final norm
    # where the model returns it so), and the spread of the logits over the vocabulary (or classes)
    stream = [float(h.float().pow(2).mean(-1).sqrt().mean()) for h in outputs.hidden_states]
    logit_std = float(outputs.logits.float().std(-1).mean())
    replicas = [spread for _, spread in idinit_hf.replica_report(model)]
    out = {"stream": stream, "logit_std": logit_std, "entropy": entropy, "self_attention": self_weight,
           "replica_spread": replicas,
           "attn_branch": [b.attention_branch for b in report.blocks], "mlp_branch": [b.mlp_branch for b in report.blocks]}
    if "cls" in captured:
        h = captured["cls"].float()
        out["cls_spread"] = float((h - h.mean(0)).norm(dim=1).mean() / h.norm(dim=1).mean().clamp_min(1e-30))
        out["cls_self_attention"] = cls_self
    return out


class Recorder:
    """The observer of train_run: gradients before clipping, updates after the step, probes every N steps."""

    def __init__(self, model):
        self.parts = role_weights(model)
        self.fused = {id(w): sum(1 for p in self.parts if p[2] is w) > 1 for _, _, w, _, _ in self.parts}
        self.records = [{"step": 0, **probe_model(model), **self.sizes("weight")}]
        self.before = {}

    def sizes(self, what: str) -> dict:
        table = {}
        for group, _layer, weight, index, out_dim in self.parts:
            fused = self.fused[id(weight)]
            if what == "weight":
                value = block_of(weight.detach(), index, out_dim, fused).norm()
            elif what == "grad":
                value = block_of(weight.grad, index, out_dim, fused).norm() if weight.grad is not None else math.nan
            else:
                value = (block_of(weight.detach(), index, out_dim, fused) - self.before[(id(weight), index)]).norm()
            table.setdefault(f"{what}_{group}", []).append(float(value))
        return table

    def __call__(self, phase: str, step: int, model) -> None:
        if step % args.every and step > 3:  # steps 1-3, then every N
            return
        if phase == "grad":
            self.pending = {"step": step, **self.sizes("grad")}
            self.before = {(id(w), i): block_of(w.detach(), i, d, self.fused[id(w)]).clone()
                           for _, _, w, i, d in self.parts}
        else:
            self.records.append({**self.pending, **self.sizes("update"), **self.sizes("weight"), **probe_model(model)})


# ---- the runs -------------------------------------------------------------------------------------------------------------
results = {}
for method in args.methods:
    model = build(args.family, method, args.depth, args.width, args.block_size, splits.image_size, args.seed)
    batches = Batches(splits, args.family, batch_size, args.block_size, args.seed)
    recorder = Recorder(model)
    run = train_run(model, batches, settings, observe=recorder)
    results[method] = {"curve": run["curve"], "train_losses": run["train_losses"], "records": recorder.records,
                       "seconds": run["seconds"], "diverged": run["diverged"]}
    first = recorder.records[0]
    print(f"{method:34} val {run['curve'][-1][1]:.4f}  init entropy {statistics.mean(map(statistics.mean, first['entropy'])):.2f}"
          f"  ({run['seconds']:.0f}s)", flush=True)

output = Path(args.output_dir)
output.mkdir(parents=True, exist_ok=True)
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
meta = {"command": "python benchmarks/dynamics.py " + " ".join(sys.argv[1:]), "commit": commit, "data": splits.source,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}",
        "settings": {**vars(settings), "depth": args.depth, "seed": args.seed, "every": args.every}}
stem = f"dynamics_{args.family}{args.tag}"
(output / f"{stem}.json").write_text(json.dumps({"meta": meta, "runs": results}, indent=1))


# ---- summary table and plot ---------------------------------------------------------------------------------------------
def mean(values):
    values = [v for v in values if math.isfinite(v)]
    return statistics.mean(values) if values else math.nan


def series(records, key, reduce=mean):
    return [r["step"] for r in records if key in r], [reduce(r[key]) for r in records if key in r]


def head_mean(entropy):
    return mean([mean(layer) for layer in entropy])


def last_stream(record):
    """RMS of the residual stream entering the last block (the final entry is after the final norm in GPT-2)."""
    return record["stream"][-2]


print(f"\n{'method':34} {'step':>5} {'val':>7} {'entropy':>8} {'self-att':>8} {'attn br':>9} {'mlp br':>9} "
      f"{'|g_q|':>9} {'|g_mlp_in|':>10} {'|dW_q|':>9} {'stream0':>8} {'streamL':>8} {'logit sd':>8} {'|g_emb|':>9} "
      f"{'|dW_emb|':>9} {'replicas':>8}" + (" cls spread" if IMAGE else ""))
for method, run in results.items():
    val = {step: loss for step, loss, _ in run["curve"]}
    for r in run["records"]:
        if r["step"] not in val or (r["step"] % (5 * args.every) and r["step"]):
            continue
        print(f"{method:34} {r['step']:5d} {val[r['step']]:7.4f} {head_mean(r['entropy']):8.3f} "
              f"{mean(r['self_attention']):8.3f} {mean(r['attn_branch']):9.2e} {mean(r['mlp_branch']):9.2e} "
              f"{mean(r.get('grad_q', [math.nan])):9.2e} {mean(r.get('grad_mlp_in', [math.nan])):10.2e} "
              f"{mean(r.get('update_q', [math.nan])):9.2e} {r['stream'][0]:8.3f} {last_stream(r):8.3f} "
              f"{r['logit_std']:8.3f} {r.get('grad_embedding', [math.nan])[0]:9.2e} "
              f"{r.get('update_embedding', [math.nan])[0]:9.2e} {mean(r.get('replica_spread', [])):8.4f}"
              + (f" {r['cls_spread']:10.3f}" if "cls_spread" in r else ""))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

panels = [("validation loss", None), ("attention entropy / uniform", "entropy"), ("self-attention weight", "self_attention"),
          ("attn branch / residual", "attn_branch"), ("mlp branch / residual", "mlp_branch"), ("‖grad‖ q", "grad_q"),
          ("‖grad‖ mlp_in", "grad_mlp_in"), ("‖update‖ q", "update_q"), ("‖update‖ mlp_in", "update_mlp_in"),
          ("class-token spread" if IMAGE else "‖grad‖ attn_out", "cls_spread" if IMAGE else "grad_attn_out"),
          ("residual stream RMS, block 0 input", "stream_first"), ("residual stream RMS, last block input", "stream_last"),
          ("logit std over classes", "logit_std"), ("‖grad‖ embedding tables", "grad_embedding"),
          ("‖update‖ / ‖W‖ token table", "relative_update_embedding"),
          ("replica spread, MLP in (√2: independent rows)", "replica_spread")]
fig, axes = plt.subplots(4, 4, figsize=(18, 15))
for axis, (title, key) in zip(axes.flat, panels, strict=True):
    for i, (method, run) in enumerate(results.items()):
        style = {"default": "k-", "idinit": "C3-"}.get(method, f"C{i}--")
        if key is None:
            steps, values = [c[0] for c in run["curve"]], [c[1] for c in run["curve"]]
        elif key == "entropy":
            steps, values = series(run["records"], key, head_mean)
        elif key in ("cls_spread", "logit_std"):
            steps, values = series(run["records"], key, float)
        elif key == "stream_first":
            steps, values = series(run["records"], "stream", lambda s: s[0])
        elif key == "stream_last":
            steps, values = [r["step"] for r in run["records"]], [last_stream(r) for r in run["records"]]
        elif key == "relative_update_embedding":
            rows = [r for r in run["records"] if "update_embedding" in r]
            steps = [r["step"] for r in rows]
            values = [r["update_embedding"][0] / r["weight_embedding"][0] for r in rows]
        else:
            steps, values = series(run["records"], key)
        axis.plot(steps, values, style, label=method, linewidth=1.5)
    if key and (key.startswith(("grad", "update", "relative", "replica")) or key.endswith("branch")):
        axis.set_yscale("log")
    axis.set_title(title, fontsize=9)
    axis.set_xlabel("step")
    axis.grid(alpha=0.3)
axes.flat[0].legend(fontsize=7)
fig.suptitle(f"{args.family}, {args.depth} layers, width {args.width}, {splits.source} (mean over layers / heads)", fontsize=10)
fig.tight_layout()
fig.savefig(output / f"{stem}.png", dpi=90)
plt.close(fig)  # a long session (or a test) that runs this script in-process keeps no figure
print(f"wrote {output / stem}.json and .png")
