"""Init cost: wall time and peak memory of GPT-2 `from_config` under the default init and under IDInit, and a
lower bound (allocating and zero-filling the same parameters), measured in the same run.

    python benchmarks/init_speed.py                       # 124M (gpt2) on CPU, 3 repeats
    python benchmarks/init_speed.py --sizes gpt2 gpt2-medium gpt2-large gpt2-xl --repeats 3

Each measurement runs in a fresh Python process; "build MB" is its peak RSS minus the RSS after imports, i.e.
the memory the build itself needed, compared with the float32 parameters' own size. Prints a Markdown table of
medians and writes benchmarks/results/init_speed.json.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import torch

SIZES = {  # the GPT-2 family's shapes (n_layer, n_embd, n_head); "tiny" is for smoke tests
    "tiny": (2, 64, 2),
    "gpt2": (12, 768, 12),
    "gpt2-medium": (24, 1024, 16),
    "gpt2-large": (36, 1280, 20),
    "gpt2-xl": (48, 1600, 25),
}

CHILD = r"""
import json, resource, sys, time, torch
from transformers import GPT2Config
import idinit_hf
n_layer, n_embd, n_head, method = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports alone
config = GPT2Config(n_layer=n_layer, n_embd=n_embd, n_head=n_head, init_method="default" if method == "zero-fill" else method)
start = time.perf_counter()
if method == "zero-fill":
    with torch.device("meta"):
        shapes = [p.shape for p in idinit_hf.IDInitGPT2LMHeadModel(config).parameters()]
    start = time.perf_counter()
    tensors = [torch.zeros(s) for s in shapes]
    n = sum(t.numel() for t in tensors)
else:
    model = idinit_hf.AutoModelForCausalLM.from_config(config)
    n = sum(p.numel() for p in model.parameters())
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "params": n, "peak_rss_mb": peak_mb, "build_mb": peak_mb - baseline_mb}))
"""


def measure(size, method):
    n_layer, n_embd, n_head = SIZES[size]
    out = subprocess.run([sys.executable, "-c", CHILD, str(n_layer), str(n_embd), str(n_head), method],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


METHODS = ("zero-fill", "default", "idinit")


def format_table(data: dict) -> str:
    """The Markdown table of an init_speed.json: medians, and ratios to the default and to the zero-fill bound."""
    rows = ["| model | params | method | seconds | / default | / zero-fill | peak RSS MB | build MB (peak - imports) | build / params size |",
            "|---|---|---|---|---|---|---|---|---|"]
    for row in data["rows"]:
        default = next(r for r in data["rows"] if r["size"] == row["size"] and r["method"] == "default")
        bound = next(r for r in data["rows"] if r["size"] == row["size"] and r["method"] == "zero-fill")
        rows.append(f"| {row['size']} | {row['params'] / 1e6:.0f}M | {row['method']} | {row['seconds']:.2f} | "
                    f"{row['seconds'] / default['seconds']:.2f} | {row['seconds'] / bound['seconds']:.2f} | "
                    f"{row['peak_rss_mb']:.0f} | {row['build_mb']:.0f} | {row['build_mb'] / params_mb(row):.2f} |")
    return "\n".join(rows)


def params_mb(row: dict) -> float:
    return row["params"] * 4 / 2**20  # float32


def goals(data: dict) -> list[str]:
    """The issue's init-cost goals, per size: IDInit no slower than the default, within 2x of zero-fill, and a
    build that needs at most 10% more memory than the model's own float32 parameters."""
    lines = []
    for size in dict.fromkeys(r["size"] for r in data["rows"]):
        rows = {r["method"]: r for r in data["rows"] if r["size"] == size}
        idinit, default, bound = rows["idinit"], rows["default"], rows["zero-fill"]
        checks = [("time ≤ the default's", idinit["seconds"] <= default["seconds"],
                   f"{idinit['seconds']:.2f} s vs {default['seconds']:.2f} s"),
                  ("within 2× of zero-fill", idinit["seconds"] <= 2 * bound["seconds"],
                   f"{idinit['seconds'] / bound['seconds']:.2f}×"),
                  ("build memory within 10% of the model's size", idinit["build_mb"] <= 1.1 * params_mb(idinit),
                   f"{idinit['build_mb']:.0f} MB for {params_mb(idinit):.0f} MB of parameters")]
        lines.append(f"- {size} ({idinit['params'] / 1e6:.0f}M): " + "; ".join(
            f"{name}: **{'yes' if ok else 'no'}** ({detail})" for name, ok, detail in checks) + ".")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["gpt2"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "init_speed.json"))
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        # interleaved (zero-fill, default, idinit, zero-fill, ...): a slow phase of the machine hits all three
        runs = {method: [] for method in METHODS}
        for _ in range(args.repeats):
            for method in METHODS:
                runs[method].append(measure(size, method))
        for method in METHODS:
            results.append({
                "size": size, "method": method, "params": runs[method][0]["params"],
                "seconds": statistics.median(r["seconds"] for r in runs[method]),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs[method]),
                "build_mb": statistics.median(r["build_mb"] for r in runs[method]),
            })
        print(f"{size}: done", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    data = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
            "commit": commit, "repeats": args.repeats, "rows": results,
            "command": "python benchmarks/init_speed.py " + " ".join(sys.argv[1:])}
    print(f"machine: {data['machine']}; medians of {args.repeats} fresh processes\n")
    print(format_table(data))
    print("\n".join(goals(data)))
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2))


if __name__ == "__main__":
    main()
