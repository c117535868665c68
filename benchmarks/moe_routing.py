"""Routing of a mixture of experts over training, default init against IDInit's router and expert variants (issue 20).

    python benchmarks/moe_routing.py                                       # Mixtral, 4 layers, 3 seeds, 300 steps
    python benchmarks/moe_routing.py --family qwen2_moe --methods default idinit idinit:shared_experts=default
    python benchmarks/moe_routing.py --methods idinit:router=zero,experts=identical --seeds 0 --steps 50

The question: IDInit writes the same pattern into every expert, and a zero router scores every expert the same.
Identical experts give the router no gradient (it only moves the mix of equal outputs: ∂/∂logit_e ∝ y_e − ȳ = 0),
a tied router sends every token to the same top-k experts (ties break by index), and the other experts then get
no gradient at all. What breaks the symmetry, and how fast? Every method trains from the same seed on the same
batches (benchmarks/common.py: data, models, the training loop: AdamW, warm-up + cosine, clipping; the
load-balancing loss is on, as the family's example config says). At init and at the recorded steps, on a fixed
validation batch, per MoE layer:

* ``load_entropy``: entropy of the expert load (the share of the batch's token slots routed to each expert) over
  ``log E``: 1 = every expert gets the same share, ``log k / log E`` = the same k experts for every token;
* ``experts_used``: the experts that get any token of the batch;
* ``token_entropy``: mean entropy of each token's routing distribution (softmax of the router logits) over
  ``log E``: 1 = uniform scores (a zero router), lower = decided routing;
* ``spread``: mean over expert pairs of ``‖W_i − W_j‖ / mean ‖W‖`` of the experts' gate/up weights: 0 = exact
  copies (experts that differ by a permutation of the model dimensions are far apart here, yet may compute the
  same function);
* ``function_spread``: the same of the experts' outputs on the layer's real inputs (every expert run on the same
  256 tokens): 0 = experts that compute the same function;

and per step, during the first ``--grad_steps`` steps, the raw gradient norm of the routers and of the experts.
The validation loss is recorded every ``--every`` steps. Writes ``results/moe_routing_<family><tag>.json``
(``--output_dir``) and prints the table of means over seeds and layers.
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
from common import Batches, RunSettings, build, load_text, method_name, train_run

import idinit_hf
from idinit_hf.diagnostics import role_slots
from idinit_hf.roles import Role

RESULTS = Path(__file__).parent / "results"

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--family", default="mixtral", help="a mixture-of-experts family of the registry")
parser.add_argument("--methods", nargs="+", type=method_name,
                    default=["default", "idinit", "idinit:router=zero", "idinit:router=idi",
                             "idinit:experts=identical", "idinit:router=zero,experts=identical",
                             "idinit:experts=loosen", "idinit:experts=default"])
parser.add_argument("--depth", type=int, default=4)
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--record", nargs="+", type=int, default=[1, 2, 5, 10, 25, 50, 100, 200, 300],
                    help="steps at which routing is measured (and at init)")
parser.add_argument("--grad_steps", type=int, default=10, help="record router / expert gradient norms this long")
parser.add_argument("--every", type=int, default=25, help="validation loss every N steps")
parser.add_argument("--batch_size", type=int, default=8)
parser.add_argument("--block_size", type=int, default=64)
parser.add_argument("--lr", type=float, default=1e-3)
parser.add_argument("--warmup", type=int, default=50)
parser.add_argument("--eval_batches", type=int, default=4)
parser.add_argument("--text_dir", default=None, help="folder of *.txt files (default: CPython's pydoc_data)")
parser.add_argument("--output_dir", default=str(RESULTS))
parser.add_argument("--tag", default="", help="suffix of the output file: moe_routing_<family><tag>.json")
parser.add_argument("--no_aux_loss", action="store_true",
                    help="train without the load-balancing loss (output_router_logits=False, stock Mixtral's default)")


def routers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The routers of the mixtures (a shared expert's scalar gate, also a ROUTER slot, is not one)."""
    return [located.module for located in role_slots(model, Role.ROUTER)
            if type(located.module).__name__.endswith("Router")]


def expert_weights(model: torch.nn.Module) -> list[torch.Tensor]:
    """The stacked gate/up weights of every mixture (``E x …``)."""
    return [getattr(located.module, located.slot.params[0]) for located in role_slots(model, Role.MLP_IN)
            if located.slot.experts]


def expert_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The ``…Experts`` modules, in layer order."""
    return [located.module for located in role_slots(model, Role.MLP_OUT) if located.slot.experts]


def pair_spread(stacked: torch.Tensor) -> float:
    """Mean over pairs of rows of ``‖a − b‖``, over the mean row norm (rows: one per expert)."""
    flat = stacked.detach().double().flatten(1)
    n = flat.shape[0]
    distances = torch.cdist(flat[None], flat[None])[0]
    return float(distances.sum() / (n * (n - 1)) / flat.norm(dim=1).mean().clamp_min(1e-30))


def entropy(p: torch.Tensor) -> torch.Tensor:
    return -(p * p.clamp_min(1e-30).log()).sum(-1)


@torch.no_grad()
def routing(model: torch.nn.Module, probe: dict) -> dict:
    """Per MoE layer, on the probe batch: load entropy, experts used, token entropy (see the module docstring)."""
    found: list[tuple[torch.Tensor, torch.Tensor]] = []
    inputs: list[torch.Tensor] = []
    hooks = [r.register_forward_hook(lambda m, a, out: found.append((out[0].detach(), out[2].detach())))
             for r in routers(model)]
    experts = expert_modules(model)
    hooks += [e.register_forward_pre_hook(lambda m, a: inputs.append(a[0].detach())) for e in experts]
    was_training = model.training
    model.eval()
    try:
        model(**probe)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    load_entropy, used, token_entropy = [], [], []
    for logits, chosen in found:
        n_experts = logits.shape[-1]
        load = torch.bincount(chosen.reshape(-1), minlength=n_experts).double()
        load = load / load.sum()
        load_entropy.append(float(entropy(load) / math.log(n_experts)))
        used.append(int((load > 0).sum()))
        token_entropy.append(float(entropy(logits.double().softmax(-1)).mean() / math.log(n_experts)))
    function_spread = []
    for module, hidden in zip(experts, inputs, strict=True):
        x = hidden[:256]
        n_experts = routers(model)[0].weight.shape[0]
        ones = torch.ones(len(x), 1, dtype=x.dtype)
        outs = [module(x, torch.full((len(x), 1), e, dtype=torch.long), ones) for e in range(n_experts)]
        function_spread.append(pair_spread(torch.stack(outs)))
    return {"load_entropy": load_entropy, "experts_used": used, "token_entropy": token_entropy,
            "function_spread": function_spread}


@torch.no_grad()
def spread(model: torch.nn.Module) -> list[float]:
    """Per MoE layer: mean over expert pairs of ‖W_i − W_j‖ / mean ‖W‖ (gate/up weights)."""
    return [pair_spread(weight) for weight in expert_weights(model)]


def grad_norm(tensors: list[torch.Tensor]) -> float:
    grads = [t.grad for t in tensors if t.grad is not None]
    return float(torch.stack([g.double().norm() for g in grads]).norm()) if grads else 0.0


def one_run(args, text, method: str, seed: int) -> dict:
    model = build(args.family, method, args.depth, args.width, args.block_size, 0, seed)
    model.config.output_router_logits = not args.no_aux_loss  # read at every forward
    batches = Batches(text, args.family, args.batch_size, args.block_size, seed)
    probe = {k: v for k, v in batches.evaluation("validation", 1)[0].items() if k != "labels"}
    settings = RunSettings(steps=args.steps, eval_every=args.every, eval_batches=args.eval_batches,
                           batch_size=args.batch_size, block_size=args.block_size, width=args.width, lr=args.lr,
                           warmup=args.warmup)
    record = sorted({s for s in args.record if s <= args.steps})
    router_params = [p for r in routers(model) for p in r.parameters()]
    expert_params = expert_weights(model)
    trace = {"steps": [0], "spread": [spread(model)], **{k: [v] for k, v in routing(model, probe).items()},
             "router_grad": [], "expert_grad": []}

    def observe(phase: str, step: int, model: torch.nn.Module) -> None:
        if phase == "grad" and step <= args.grad_steps:
            trace["router_grad"].append(grad_norm(router_params))
            trace["expert_grad"].append(grad_norm(expert_params))
        if phase == "update" and step in record:
            trace["steps"].append(step)
            trace["spread"].append(spread(model))
            for key, value in routing(model, probe).items():
                trace[key].append(value)

    result = train_run(model, batches, settings, observe=observe)
    return {"method": method, "seed": seed, "depth": args.depth, "curve": result["curve"],
            "diverged": result["diverged"], "seconds": result["seconds"], **trace}


def mean_at(runs: list[dict], key: str, index: int) -> float:
    """Mean over runs and layers of ``run[key][index]`` (a list per layer)."""
    return statistics.mean(v for run in runs for v in run[key][index])


def table(runs: list[dict]) -> str:
    steps = runs[0]["steps"]
    shown = [i for i, s in enumerate(steps) if s in (0, 1, 10, 50, 100, steps[-1])]
    head = " ".join(f"{steps[i]:>5}" for i in shown)
    rows = [f"{'method':42} {'metric':14} {head}   router grad step 1 / expert grad step 1   val loss"]
    for method in dict.fromkeys(r["method"] for r in runs):
        group = [r for r in runs if r["method"] == method]
        val = statistics.mean(r["curve"][-1][1] for r in group)
        first = (f"{statistics.mean(r['router_grad'][0] for r in group):.1e} / "
                 f"{statistics.mean(r['expert_grad'][0] for r in group):.1e}")
        for key in ("load_entropy", "experts_used", "token_entropy", "spread", "function_spread"):
            cells = " ".join(f"{mean_at(group, key, i):5.2f}" for i in shown)
            extra = f"   {first:37}   {val:.3f}" if key == "load_entropy" else ""
            rows.append(f"{method:42} {key:14} {cells}{extra}")
    return "\n".join(rows)


def main() -> None:
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    if not any(slot.experts for slot in idinit_hf.testing.family(args.family).slots):
        parser.error(f"--family {args.family}: not a mixture of experts")
    text = load_text(args.text_dir)
    output = Path(args.output_dir) / f"moe_routing_{args.family}{args.tag}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(output.read_text())["runs"] if output.exists() else []  # resumable: finished runs are kept
    runs = [r for r in done if r["method"] in args.methods and r["seed"] in args.seeds and r["depth"] == args.depth]
    for method in args.methods:
        for seed in args.seeds:
            if any(r["method"] == method and r["seed"] == seed for r in runs):
                continue
            runs.append(one_run(args, text, method, seed))
            print(f"{method} seed {seed}: val {runs[-1]['curve'][-1][1]:.3f}, {runs[-1]['seconds']:.0f} s", flush=True)
            write(output, args, runs)
    write(output, args, runs)
    print(table([r for m in args.methods for r in runs if r["method"] == m]))


def write(path: Path, args, runs: list[dict]) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"command": " ".join(sys.argv), "settings": {k: v for k, v in vars(args).items() if k != "methods"},
            "commit": commit, "torch": torch.__version__, "python": platform.python_version(),
            "data": args.text_dir or "pydoc_data.topics"}
    path.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
