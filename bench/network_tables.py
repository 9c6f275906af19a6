#!/usr/bin/env python3
"""Markdown tables of a bench/network.sh record (the netbench JSON files in OUTDIR) for
BENCHMARKS.md and README: the fitted link per setting, measured vs projected at 2 hosts, and the
projected weak-scaling efficiency per rank count.   python3 bench/network_tables.py OUTDIR"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
records = {p.stem: json.loads(p.read_text()) for p in sorted(out.glob("*.json"))}
short = {"fc128-fc10": "MLP"}


def name(r):
    model = short.get(r["model"], r["model"])
    return "keskar-c1" if model.startswith("conv64k5") else "resnet20" if model.startswith("conv16k3same-bn-relu-res16") else model


print("| record | model | link fit: alpha us, Gbit/s, worst fit error | buckets |")
print("|---|---|---|---|")
for key, r in records.items():
    f = r["fit"]
    print(f"| {key} | {name(r)} | {f['alpha'] * 1e6:.1f}, {8 / f['beta'] / 1e9:.2f}, {100 * r['fit_error']:.0f}% | {r['buckets']} of >= {r['bucket_kb']} KB |")
print()
print("| record | batch/rank | alone samples/s | overlap | measured samples/s | step ms | exposed ms (% of step) | weak scaling | projected samples/s | error |")
print("|---|---|---|---|---|---|---|---|---|---|")
for key, r in records.items():
    for b in r["results"]:
        for m in b["measured"]:
            print(f"| {key} | {b['batch_per_rank']} | {b['single_samples_per_sec']:.0f} | {'on' if m['overlap'] else 'off'} | "
                  f"{m['samples_per_sec']:.0f} | {m['median_step_seconds'] * 1e3:.2f} | {m['exposed_seconds'] * 1e3:.2f} "
                  f"({100 * m['exposed_seconds'] / m['median_step_seconds']:.0f}%) | {100 * m['weak_scaling_efficiency']:.0f}% | "
                  f"{m['projected_samples_per_sec']:.0f} | {100 * m['projection_error']:+.0f}% |")
print()
print("Projected weak-scaling efficiency, without / with overlap (network alone, without the straggler term, in brackets):")
print()
ranks = sorted({p["ranks"] for r in records.values() for b in r["results"] for p in b["projections"]})
print("| record | batch/rank | " + " | ".join(f"{n} ranks" for n in ranks) + " |")
print("|---|---|" + "---|" * len(ranks))
for key, r in records.items():
    for b in r["results"]:
        cells = {p["ranks"]: f"{100 * p['weak_scaling_efficiency']:.0f} / {100 * p['overlap_weak_scaling_efficiency']:.0f}% "
                             f"({100 * p['network_efficiency']:.0f} / {100 * p['overlap_network_efficiency']:.0f})" for p in b["projections"]}
        print(f"| {key} | {b['batch_per_rank']} | " + " | ".join(cells.get(n, "") for n in ranks) + " |")
