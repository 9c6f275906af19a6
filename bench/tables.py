"""Markdown tables for BENCHMARKS.md from one bench/run.sh record folder.

    python3 bench/tables.py bench/results/DATE

Reads ddp-*.json (ddp bench), torch-*.json (ddp_bench.py), base-*.json (an older build, when
run.sh had BASE_DDP) and cpu.txt; prints one table per 2-rank model with the PyTorch ratio, the
one-rank table, and the per-layer figures that `--layers` recorded. Standard library only.
"""
import json
import sys
from pathlib import Path

MODELS = [("mlp", "MLP 784-128-10, SGD momentum 0.9"), ("cnn", "Seed CNN (conv32k3-pool2-fc10), Adam"),
          ("resnet8", "resnet8 (He et al. 2016, n = 1, BatchNorm), SGD momentum 0.9"),
          ("keskar-c1", "Keskar et al.'s C1 (2 x conv64k5-bn-relu-pool3s2, fc384, fc192, BatchNorm, dropout), SGD momentum 0.9")]


def load(folder, name):
    path = folder / name
    return json.loads(path.read_text()) if path.is_file() else None


def by_batch(record):
    return {r["batch_per_rank"]: r for r in record["results"]} if record else {}


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def main(folder):
    folder = Path(folder)
    cpu = (folder / "cpu.txt").read_text().strip() if (folder / "cpu.txt").is_file() else "?"
    first = load(folder, "ddp-mlp-2.json")
    print(f"Record `{folder}`. CPU: {cpu}. OpenBLAS {first['blas_core'] if first else '?'} kernels; "
          f"sgemm peak {first['peak_gflops']:.1f} GFLOP/s per rank ({first['peak_size']}^3, one thread, both ranks at once).\n"
          if first else f"Record `{folder}`. CPU: {cpu}.\n")
    for key, title in MODELS:
        ddp, torch, base = (load(folder, f"{p}-{key}-2.json") for p in ("ddp", "torch", "base"))
        if not ddp:
            continue
        print(f"### {title}, 2 ranks\n")
        print("| batch/rank | swift-ddp samples/s | PyTorch DDP samples/s | ratio | step ms | forward | backward | allreduce "
              "| GFLOP/s per rank | of peak | of ceiling | weak scaling |" + (" before (BASE_DDP) samples/s |" if base else ""))
        print("|---" * (12 + (1 if base else 0)) + "|")
        t, b = by_batch(torch), by_batch(base)
        for r in ddp["results"]:
            n = r["batch_per_rank"]
            ph = r["phase_seconds"]
            other = t.get(n, {}).get("samples_per_second")
            ratio = f"**{r['samples_per_sec'] / other:.1f}x**" if other else "-"
            row = (f"| {n} | {r['samples_per_sec']:,.0f} | {f'{other:,.0f}' if other else '-'} | {ratio} | {1000 * r['median_step_seconds']:.2f} "
                   f"| {1000 * ph['forward']:.2f} | {1000 * ph['backward']:.2f} | {1000 * ph['allreduce']:.3f} | {r['achieved_gflops']:.1f} "
                   f"| {pct(r['fraction_of_peak'])} | {pct(r['fraction_of_ceiling'])} | {pct(r.get('weak_scaling_efficiency'))} |")
            if base:
                before = b.get(n, {}).get("samples_per_sec")
                row += f" {before:,.0f} ({r['samples_per_sec'] / before:.2f}x now) |" if before else " - |"
            print(row)
        print()
        # The launch's vCPU placement (BENCHMARKS.md, issue 16's section): about 0.3 us for one float
        # near, 0.5-0.9 us far on the 2-vCPU EPYC VM. Records before 2026-12-03-j measured it after
        # the rows only, under the key now used for before them.
        def alone(key):
            return ", ".join(f"{s['bytes']:,} bytes {1e6 * s['seconds']:.1f} us" for s in ddp.get(key) or [])
        if ddp.get("allreduce_alone_after"):
            print(f"Allreduce alone in this launch: before its rows {alone('allreduce_alone')}; after {alone('allreduce_alone_after')}.\n")
        elif ddp.get("allreduce_alone"):
            print(f"Allreduce alone in this launch (after its rows): {alone('allreduce_alone')}.\n")
    rows = []
    for key, _ in MODELS:
        ddp, torch = load(folder, f"ddp-{key}-1.json"), load(folder, f"torch-{key}-1.json")
        if ddp:
            t = by_batch(torch)
            for r in ddp["results"]:
                mine, other = r["samples_per_sec"], t.get(r["batch_per_rank"], {}).get("samples_per_second")
                rows.append(f"| {key} | {r['batch_per_rank']} | {mine:,.0f} | {f'{other:,.0f}' if other else '-'} "
                            f"| {f'{mine / other:.1f}x' if other else '-'} | {pct(r['fraction_of_peak'])} |")
    if rows:
        print("### One rank\n\n| model | batch | swift-ddp samples/s | PyTorch samples/s | ratio | of peak |\n|---|---|---|---|---|---|")
        print("\n".join(rows) + "\n")
    for key, _ in MODELS:
        ddp = load(folder, f"ddp-{key}-2.json")
        for r in (ddp or {}).get("results", []):
            if not r.get("layers") or r["batch_per_rank"] != max(x["batch_per_rank"] for x in ddp["results"]):
                continue
            print(f"### Per layer: {key} at {r['batch_per_rank']} per rank (rank 0, mean ms per step; blocks include their layers)\n")
            print("| layer | forward ms | GFLOP/s | backward ms | GFLOP/s |\n|---|---|---|---|---|")
            for l in r["layers"]:
                print(f"| `{l['path']}` {l['layer']} | {l['forward_ms']:.2f} | {l['forward_gflops']:.1f} | {l['backward_ms']:.2f} | {l['backward_gflops']:.1f} |")
            print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 bench/tables.py RECORD_FOLDER")
    main(sys.argv[1])
