#!/usr/bin/env python3
"""Draw a ddp trace.json (Chrome trace-event format) as an SVG timeline: one row per rank, one bar
per phase, time in milliseconds. For README pictures and papers; Perfetto is the interactive view.

usage: trace_to_svg.py TRACE.json OUT.svg [TITLE]        (standard library only)
"""
import json
import sys

COLOURS = {"data": "#8c8c8c", "forward": "#4c78a8", "backward": "#f58518", "allreduce": "#54a24b",
           "optimizer": "#b279a2", "evaluation": "#e45756", "checkpoint": "#72b7b2"}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    trace = json.load(open(sys.argv[1]))
    title = sys.argv[3] if len(sys.argv) > 3 else "swift-ddp trace"
    events = [e for e in trace["traceEvents"] if e.get("ph") == "X" and e["name"] not in ("evaluation", "checkpoint")]
    names = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("ph") == "M" and e["name"] == "process_name"}
    if not events:
        sys.exit("no step events in " + sys.argv[1])
    t0 = min(e["ts"] for e in events)
    t1 = max(e["ts"] + e["dur"] for e in events)
    ranks = sorted(names)
    left, right, top, row, gap = 130, 20, 50, 34, 14
    width = 900
    plot = width - left - right
    height = top + len(ranks) * (row + gap) + 70
    x = lambda t: left + (t - t0) / (t1 - t0) * plot
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'font-family="DejaVu Sans, sans-serif" font-size="11" style="background:#fff">',
           f'<text x="{left}" y="22" font-size="14" font-weight="600">{title}</text>']
    for i, pid in enumerate(ranks):
        y = top + i * (row + gap)
        out.append(f'<text x="{left - 8}" y="{y + row / 2 + 4}" text-anchor="end">{names[pid]}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{plot}" height="{row}" fill="#f4f4f4"/>')
        for e in (e for e in events if e["pid"] == pid):
            w = max(e["dur"] / (t1 - t0) * plot, 0.6)
            out.append(f'<rect x="{x(e["ts"]):.2f}" y="{y}" width="{w:.2f}" height="{row}" fill="{COLOURS.get(e["name"], "#333")}">'
                       f'<title>{e["name"]} step {e["args"].get("step")} {e["dur"]:.0f} us</title></rect>')
    axis = top + len(ranks) * (row + gap)
    span_ms = (t1 - t0) / 1000
    step = next(s for s in (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if span_ms / s <= 10)
    k = 0
    while k * step <= span_ms + 1e-9:
        px = left + k * step / span_ms * plot
        out.append(f'<line x1="{px:.1f}" y1="{axis - gap}" x2="{px:.1f}" y2="{axis - gap + 5}" stroke="#555"/>')
        out.append(f'<text x="{px:.1f}" y="{axis + 6}" text-anchor="middle" fill="#555">{k * step:g}</text>')
        k += 1
    out.append(f'<text x="{left + plot / 2}" y="{axis + 22}" text-anchor="middle">milliseconds (clocks aligned at the allreduces)</text>')
    lx = left
    for name, colour in COLOURS.items():
        if name in ("evaluation", "checkpoint"):
            continue
        out.append(f'<rect x="{lx}" y="{axis + 36}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 16}" y="{axis + 46}">{name}</text>')
        lx += 16 + 8 * len(name) + 18
    out.append("</svg>")
    open(sys.argv[2], "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
