#!/usr/bin/env python3
"""Test accuracy against global batch (log2 axis) from summary.json files, as a standalone SVG.
Standard library only: plot_accuracy_vs_batch.py OUT.svg RUN/summary.json..."""
import json, math, sys

out, paths = sys.argv[1], sys.argv[2:]
points = sorted((s["global_batch"], s["test_acc"], s["train_acc"]) for s in (json.load(open(p)) for p in paths))
W, H, L, R, T, B = 560, 360, 60, 20, 30, 50
xs = [math.log2(b) for b, _, _ in points]
accs = [a for _, a, _ in points] + [t for _, _, t in points]
lo, hi = math.floor(min(accs) * 50) / 50, math.ceil(max(accs) * 50) / 50
x0, x1 = min(xs) - 0.5, max(xs) + 0.5
px = lambda x: L + (x - x0) / (x1 - x0) * (W - L - R)
py = lambda y: T + (hi - y) / max(hi - lo, 1e-9) * (H - T - B)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W/2}" y="18" text-anchor="middle" font-size="14">Accuracy against global batch (10 epochs, CNN, Adam)</text>',
       f'<line x1="{L}" y1="{H-B}" x2="{W-R}" y2="{H-B}" stroke="black"/><line x1="{L}" y1="{T}" x2="{L}" y2="{H-B}" stroke="black"/>']
for b, _, _ in points:
    x = px(math.log2(b))
    svg.append(f'<text x="{x}" y="{H-B+16}" text-anchor="middle">{b}</text>')
steps = int(round((hi - lo) / 0.01))
for i in range(steps + 1):
    y = lo + i * (hi - lo) / max(steps, 1)
    svg.append(f'<text x="{L-6}" y="{py(y)+4}" text-anchor="end">{y:.2f}</text>')
    svg.append(f'<line x1="{L}" y1="{py(y)}" x2="{W-R}" y2="{py(y)}" stroke="#eee"/>')
for idx, color, label in ((1, "#1f77b4", "test accuracy"), (2, "#ff7f0e", "train accuracy")):
    path = " ".join(f"{px(math.log2(p[0]))},{py(p[idx])}" for p in points)
    svg.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
    svg += [f'<circle cx="{px(math.log2(p[0]))}" cy="{py(p[idx])}" r="3.5" fill="{color}"/>' for p in points]
    ly = T + 10 + 16 * (idx - 1)
    svg.append(f'<line x1="{W-R-140}" y1="{ly}" x2="{W-R-120}" y2="{ly}" stroke="{color}" stroke-width="2"/>'
               f'<text x="{W-R-114}" y="{ly+4}">{label}</text>')
svg.append(f'<text x="{(L+W-R)/2}" y="{H-12}" text-anchor="middle">global batch (log2)</text></svg>')
open(out, "w").write("\n".join(svg))
