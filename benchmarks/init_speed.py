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

SIZES = {  # the GPT-2 family's shapes (n_layer, n_embd, n_head)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["gpt2"], choices=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for method in ("zero-fill", "default", "idinit"):
            runs = [measure(size, method) for _ in range(args.repeats)]
            results.append({
                "size": size, "method": method, "params": runs[0]["params"],
                "seconds": statistics.median(r["seconds"] for r in runs),
                "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
                "build_mb": statistics.median(r["build_mb"] for r in runs),
            })
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"machine: {machine}; medians of {args.repeats} fresh processes\n")
    print("| model | params | method | seconds | / default | / zero-fill | peak RSS MB | build MB (peak - imports) | / params MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in results:
        default = next(r for r in results if r["size"] == row["size"] and r["method"] == "default")
        bound = next(r for r in results if r["size"] == row["size"] and r["method"] == "zero-fill")
        print(f"| {row['size']} | {row['params'] / 1e6:.0f}M | {row['method']} | {row['seconds']:.2f} | "
              f"{row['seconds'] / default['seconds']:.2f} | {row['seconds'] / bound['seconds']:.2f} | "
              f"{row['peak_rss_mb']:.0f} | {row['build_mb']:.0f} | {row['build_mb'] / (row['params'] * 4 / 2**20):.2f} |")
    out = Path(__file__).parent / "results" / "init_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "repeats": args.repeats, "rows": results}, indent=2))


if __name__ == "__main__":
    main()
