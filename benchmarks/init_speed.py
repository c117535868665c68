"""Init cost: wall time and peak memory of ``from_config`` under the default init and under IDInit, next to what
writing the bytes costs, measured side by side in one run.

    python benchmarks/init_speed.py                                   # GPT-2 124M, float32, 3 repeats
    python benchmarks/init_speed.py --sizes gpt2 gpt2-medium gpt2-large gpt2-xl llama-1b --dtypes float32 bfloat16
    python benchmarks/init_speed.py --methods write-limit idinit                 # IDInit against its write limit only

Methods, each in a fresh Python process (interleaved, so a slow phase of the machine hits all of them):

* ``zero-fill``: allocate every parameter and fill it with zeros: the cost of the bytes alone;
* ``write-limit``: ``zero-fill``, plus a normal fill of the parameters IDInit leaves to the library's random init
  (GPT-2's token and position embeddings, Llama's embedding and untied head): what an IDInit build cannot avoid;
* ``default``: ``idinit_hf.AutoModelForCausalLM.from_config`` of the stock config (transformers' own init);
* ``idinit``: the same with ``init_method="idinit"``.

"build MB" is the process's peak RSS minus its RSS after the imports, compared with the parameters' own bytes in
the dtype built. Prints a Markdown table of medians and the goals of issue 13, and writes
benchmarks/results/init_speed.json.
"""

import argparse
import json
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import torch

SIZES = {  # "tiny" is for smoke tests
    "tiny": {"model_type": "gpt2", "n_layer": 2, "n_embd": 64, "n_head": 2},
    "gpt2": {"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12},
    "gpt2-medium": {"model_type": "gpt2", "n_layer": 24, "n_embd": 1024, "n_head": 16},
    "gpt2-large": {"model_type": "gpt2", "n_layer": 36, "n_embd": 1280, "n_head": 20},
    "gpt2-xl": {"model_type": "gpt2", "n_layer": 48, "n_embd": 1600, "n_head": 25},
    # a TinyLlama-1.1B-shaped Llama: GQA (32 query heads on 4 key/value heads), untied head
    "llama-1b": {"model_type": "llama", "num_hidden_layers": 22, "hidden_size": 2048, "num_attention_heads": 32,
                 "num_key_value_heads": 4, "intermediate_size": 5632, "vocab_size": 32000,
                 "tie_word_embeddings": False},
}
METHODS = ("zero-fill", "write-limit", "default", "idinit")

CHILD = r"""
import json, resource, sys, time, torch
from transformers import AutoConfig
import idinit_hf
from idinit_hf.mixin import init_plan
from idinit_hf.patterns import slot_parameters
shape, method, dtype, threads = json.loads(sys.argv[1]), sys.argv[2], getattr(torch, sys.argv[3]), int(sys.argv[4])
if threads:
    torch.set_num_threads(threads)
baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports alone
config = AutoConfig.for_model(**shape, init_method="default" if method == "default" else "idinit")
if method in ("zero-fill", "write-limit"):
    with torch.device("meta"):  # the shapes, and which parameters IDInit writes, without building anything
        model = idinit_hf.AutoModelForCausalLM.from_config(config)
    plan = init_plan(model)
    written = {id(p) for m in model.modules() for slot, _ in plan.writes(m) for _, p in slot_parameters(m, slot, with_bias=True)}
    params = list({id(p): p for p in model.parameters()}.values())
    start = time.perf_counter()
    tensors = [torch.zeros(p.shape, dtype=dtype) for p in params]
    if method == "write-limit":
        for p, t in zip(params, tensors):
            if id(p) not in written:
                t.normal_(0.0, 0.02)
    n = sum(t.numel() for t in tensors)
else:
    start = time.perf_counter()
    model = idinit_hf.AutoModelForCausalLM.from_config(config, dtype=dtype)
    n = sum(p.numel() for p in model.parameters())
seconds = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "params": n, "peak_rss_mb": peak_mb, "build_mb": peak_mb - baseline_mb}))
"""


def measure(size: str, method: str, dtype: str, threads: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(SIZES[size]), method, dtype, str(threads)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _bytes(dtype: str) -> int:
    return torch.empty(0, dtype=getattr(torch, dtype)).element_size()


def params_mb(row: dict) -> float:
    return row["params"] * _bytes(row.get("dtype", "float32")) / 2**20


def _groups(data: dict) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["size"], r.get("dtype", "float32")) for r in data["rows"]))


def _rows(data: dict, size: str, dtype: str) -> dict[str, dict]:
    return {r["method"]: r for r in data["rows"] if r["size"] == size and r.get("dtype", "float32") == dtype}


def format_table(data: dict) -> str:
    """The Markdown table of an init_speed.json: medians, and ratios to the default and to the write limit."""
    rows = ["| model | dtype | params | method | seconds | / default | / write limit | build MB (peak - imports) | "
            "build / params bytes |", "|---|---|---|---|---|---|---|---|---|"]
    for size, dtype in _groups(data):
        group = _rows(data, size, dtype)
        limit, default = _limit(group), group.get("default")  # absent from a run of some --methods

        def ratio(row, to):
            return f"{row['seconds'] / to['seconds']:.2f}" if to else "–"

        for method, row in group.items():
            rows.append(f"| {size} | {dtype} | {row['params'] / 1e6:.0f}M | {method} | {row['seconds']:.2f} | "
                        f"{ratio(row, default)} | {ratio(row, limit)} | "
                        f"{row['build_mb']:.0f} | {row['build_mb'] / params_mb(row):.2f} |")
    return "\n".join(rows)


def _limit(group: dict[str, dict]) -> dict | None:
    """What IDInit's time is held against: the write limit, else the zero fill, else nothing measured."""
    return group.get("write-limit", group.get("zero-fill"))


def goals(data: dict) -> list[str]:
    """The goals of issue 13, per size and dtype: IDInit within 1.5x of its write limit; at least 2.5x faster than
    the default init from GPT-2 medium (355M parameters) up; peak build memory at most 1.1x the parameters' bytes."""
    lines = []
    for size, dtype in _groups(data):
        group = _rows(data, size, dtype)
        idinit, default, limit = group.get("idinit"), group.get("default"), _limit(group)
        if idinit is None:
            continue  # the goals are IDInit's
        checks = []
        if limit is not None:
            checks.append(("within 1.5× of the write limit", idinit["seconds"] <= 1.5 * limit["seconds"],
                           f"{idinit['seconds'] / limit['seconds']:.2f}×"))
        if default is not None and idinit["params"] >= 300e6:
            checks.append(("≥ 2.5× faster than the default", default["seconds"] >= 2.5 * idinit["seconds"],
                           f"{default['seconds'] / idinit['seconds']:.2f}×"))
        checks.append(("build memory ≤ 1.1× the parameters", idinit["build_mb"] <= 1.1 * params_mb(idinit),
                       f"{idinit['build_mb']:.0f} MB for {params_mb(idinit):.0f} MB"))
        lines.append(f"- {size} {dtype} ({idinit['params'] / 1e6:.0f}M): " + "; ".join(
            f"{name}: **{'yes' if ok else 'no'}** ({detail})" for name, ok, detail in checks) + ".")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["gpt2"], choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float32"], choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="what to measure (default: all four; the goals need idinit and a write limit)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: torch's default)")
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "init_speed.json"))
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for dtype in args.dtypes:
            methods = [method for method in METHODS if method in args.methods]  # in the table's order
            runs = {method: [] for method in methods}
            for _ in range(args.repeats):
                for method in methods:
                    runs[method].append(measure(size, method, dtype, args.threads))
            for method in methods:
                results.append({
                    "size": size, "dtype": dtype, "method": method, "params": runs[method][0]["params"],
                    "seconds": statistics.median(r["seconds"] for r in runs[method]),
                    "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs[method]),
                    "build_mb": statistics.median(r["build_mb"] for r in runs[method]),
                })
            print(f"{size} {dtype}: done", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    threads = args.threads or torch.get_num_threads()
    data = {"machine": f"{platform.machine()}, {threads} threads, torch {torch.__version__}",
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
