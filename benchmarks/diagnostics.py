"""Diagnostics at init, default init against IDInit, on real inputs: per block, how far it is from the identity,
how big its two branches are, how spread its attention is, and how isometric its input-output Jacobian is.

    python benchmarks/diagnostics.py                       # 12 layers, width 64: about a minute on a CPU
    python benchmarks/diagnostics.py --depth 24 --width 128

For GPT-2 (pre-LN) and BERT (post-LN) on CPython's reference text (bytes) and ViT (pre-LN) on scikit-learn's
digits, both inits are built from the same seed and measured with ``idinit_hf.identity_report`` and
``idinit_hf.jacobian_spectrum`` (16 tokens, one example). Writes results/diagnostics.json and
results/diagnostics.png, and docs/diagnostics.md (the tables; generated, not edited by hand).
"""

import argparse
import json
import math
import platform
import subprocess
from pathlib import Path

import torch
from common import FAMILIES, Batches, build, is_image, load_images, load_text

import idinit_hf

RESULTS = Path(__file__).parent / "results"
DOCS = Path(__file__).resolve().parent.parent / "docs"
INITS = ("default", "idinit")


def measure(family: str, init: str, depth: int, width: int, splits, seed: int) -> dict:
    model = build(family, init, depth, width, 64, splits.image_size, seed).eval()
    batch = Batches(splits, family, 4, 64, seed).evaluation("validation", 1)[0]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    identity = idinit_hf.identity_report(model, inputs)
    # as training sees it: batch norms normalized by the batch (ResNet, RegNet); the same for every other family
    training = idinit_hf.identity_report(model, inputs, batch_statistics=True)
    jacobian = idinit_hf.jacobian_spectrum(model, inputs, max_tokens=16)
    return {"family": family, "init": init,
            "blocks": [vars(b) for b in identity.blocks],
            "blocks_batch_statistics": [vars(b) for b in training.blocks],
            "jacobian": [vars(j) for j in jacobian]}


def _largest(values) -> float:
    """The largest of ``values`` that is a number (NaN: a block that changes width, or has no such branch)."""
    return max((v for v in values if not math.isnan(v)), default=math.nan)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = sorted({r["family"] for r in rows})
    fig, axes = plt.subplots(2, len(families), figsize=(5 * len(families), 6.5), squeeze=False)
    for column, family in enumerate(families):
        for row in (r for r in rows if r["family"] == family):
            style = {"default": "k", "idinit": "C3"}[row["init"]]
            blocks = [b["index"] for b in row["blocks"]]
            axes[0][column].semilogy(blocks, [max(b["identity_error"], 1e-12) for b in row["blocks"]], style + "o-",
                                     label=row["init"])
            axes[1][column].plot([j["index"] for j in row["jacobian"]], [j["log_spread"] for j in row["jacobian"]],
                                 style + "o-", label=row["init"])
        axes[0][column].set_title(f"{family}: ‖block(x) − x‖ / ‖x‖ at init")
        # the spread of log σ over the non-negligible singular values: LayerNorm's null directions (σ ≈ 0 in
        # every post-LN block, either init) would otherwise hide the comparison
        axes[1][column].set_title(f"{family}: Jacobian log-σ spread (0 = isometric)")
        for axis in (axes[0][column], axes[1][column]):
            axis.set_xlabel("block")
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_table(rows: list[dict]) -> str:
    lines = ["| family | init | identity error (max over blocks) | branch size (max) | attention entropy / uniform (mean) | Jacobian σ min … max | log-σ spread (max) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        blocks, jac = r["blocks"], r["jacobian"]
        entropy = sum(b["attention_entropy"] / b["uniform_entropy"] for b in blocks) / len(blocks)
        branch = _largest(size for b in blocks for size in (b["attention_branch"], b["mlp_branch"]))
        lines.append(f"| {r['family']} | {r['init']} | {_largest(b['identity_error'] for b in blocks):.2e} | "
                     f"{branch:.2e} | {entropy:.3f} | {min(j['sigma_min'] for j in jac):.3g} … "
                     f"{max(j['sigma_max'] for j in jac):.3g} | {max(j['log_spread'] for j in jac):.3g} |")
    return "\n".join(lines)


def block_table(row: dict) -> str:
    lines = ["| block | ‖f(x)−x‖/‖x‖ | attention branch | MLP branch | attention entropy / uniform | σ min | σ max | log-σ spread |",
             "|---|---|---|---|---|---|---|---|"]
    for b, j in zip(row["blocks"], row["jacobian"], strict=True):
        lines.append(f"| {b['index']} | {b['identity_error']:.2e} | {b['attention_branch']:.2e} | {b['mlp_branch']:.2e} | "
                     f"{b['attention_entropy'] / b['uniform_entropy']:.3f} | {j['sigma_min']:.3g} | {j['sigma_max']:.3g} | "
                     f"{j['log_spread']:.3g} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=12)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES,
                        help="families of the registry to measure (default: every one)")
    parser.add_argument("--image_dir", default=None, help="Fashion-MNIST IDX folder (default: sklearn digits)")
    parser.add_argument("--output_dir", default=str(RESULTS))
    parser.add_argument("--docs", default=str(DOCS / "diagnostics.md"), help="the generated page ('' = none)")
    args = parser.parse_args()
    text, images = load_text(None), load_images(args.image_dir)
    rows = [measure(family, init, args.depth, args.width, images if is_image(family) else text, args.seed)
            for family in args.families for init in INITS]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    meta = {"machine": f"{platform.machine()}, torch {torch.__version__}", "commit": commit, "settings": vars(args),
            "data": {"text": text.source, "images": images.source}}
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    (output / "diagnostics.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    plot(rows, output / "diagnostics.png")
    print(summary_table(rows))
    if args.docs:
        page = ["# Diagnostics at init: default init against IDInit",
                "",
                f"Generated by `python benchmarks/diagnostics.py --depth {args.depth} --width {args.width}` (commit "
                f"`{commit}`, {meta['machine']}); do not edit by hand. {args.depth} layers, width {args.width}, seed "
                f"{args.seed}; inputs: one validation batch of {text.source} (text families) and {images.source} (image "
                "families). "
                "The Jacobian is taken on the first example, cut to 16 tokens.",
                "",
                "- **identity error** ‖block(x) − x‖ / ‖x‖: 0 for a block that passes its input through. Pre-LN blocks "
                "are identities under IDInit. A post-LN block (BERT) computes LN(x + branch), so "
                "under IDInit it is x ↦ LN(x): x itself, since BERT's x is already layer-normalized.",
                "- **branch size** ‖branch output‖ / ‖x‖ for the attention and MLP branches: about ε under IDInit.",
                "- **attention entropy / uniform**: 1 means every token attends uniformly.",
                "- **Jacobian σ** are the singular values of ∂block(x)/∂x on real inputs. They are all 1 for an "
                "isometric block (dynamical isometry). The **log-σ spread** is the std of log σ over the "
                "non-negligible σ. BERT's σ ≈ 1e-10 are LayerNorm's null directions: each token's mean and "
                "scale. Every post-LN block has them, under either init.",
                "",
                summary_table(rows), "",
                "![diagnostics](../benchmarks/results/diagnostics.png)", ""]
        for row in rows:
            page += [f"## {row['family']}, {row['init']}", "", block_table(row), ""]
        Path(args.docs).write_text("\n".join(page))


if __name__ == "__main__":
    main()
