"""How fast are the IDInit tensor initializers next to torch.nn.init.normal_ on the same tensor?

    python benchmarks/initializer_speed.py [--device cpu|cuda] [--repeats 20]

Times (median of --repeats) idi_, idiz_, idic_, loosen_ and normal_ on GPT-2-sized weights, and reports each
as a ratio to normal_ on the same tensor, measured in the same run. Prints a Markdown table and writes
benchmarks/results/initializer_speed.json.
"""

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from idinit_hf import init

SHAPES = {  # GPT-2 medium-sized weights (d = 1024) in the out x in layout
    "attention q|k|v (3072x1024)": (3072, 1024),
    "attention out (1024x1024)": (1024, 1024),
    "mlp in (4096x1024)": (4096, 1024),
    "mlp out (1024x4096)": (1024, 4096),
}
FILLS = {
    "normal_ (reference)": lambda w: torch.nn.init.normal_(w, std=0.02),
    "idi_": lambda w: init.idi_(w),
    "idiz_": lambda w: init.idiz_(w),
    "idi_ + loosen_": lambda w: init.loosen_(init.idi_(w), 1e-6, generator=torch.Generator().manual_seed(0)),
}


def median_seconds(fill, tensor, repeats, device):
    times = []
    for _ in range(repeats + 2):  # two warm-up calls
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fill(tensor)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times[2:])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    rows = []
    for shape_name, shape in SHAPES.items():
        tensor = torch.empty(shape, dtype=dtype, device=args.device)
        reference = median_seconds(FILLS["normal_ (reference)"], tensor, args.repeats, args.device)
        for fill_name, fill in FILLS.items():
            seconds = median_seconds(fill, tensor, args.repeats, args.device)
            rows.append({"shape": shape_name, "fill": fill_name, "ms": seconds * 1e3, "vs_normal": seconds / reference})
    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    print(f"device={args.device} dtype={args.dtype} repeats={args.repeats} machine: {machine}\n")
    print("| weight | initializer | median ms | time / normal_ |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['shape']} | {row['fill']} | {row['ms']:.3f} | {row['vs_normal']:.2f} |")
    out = Path(__file__).parent / "results" / "initializer_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"device": args.device, "dtype": args.dtype, "machine": machine, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
