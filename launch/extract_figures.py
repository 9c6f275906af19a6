#!/usr/bin/env python3
"""Save charts of a `ddp report` page as standalone SVG files (for a README or a paper).

usage: extract_figures.py REPORT.html OUTDIR [CHART-ID ...]   (default: every chart)
Each inline <svg data-chart="ID"> becomes OUTDIR/ID.svg with the SVG namespace and the page's
chart styles added, so it renders on its own. Standard library only.
"""
import os
import re
import sys

STYLE = """<style>
text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 11px; fill: #333; }
text.title { font-size: 13px; font-weight: 600; fill: #111; }
text.label { font-size: 11.5px; fill: #222; }
text.tick { font-size: 10px; fill: #555; }
text.note { font-size: 10px; fill: #555; }
</style>"""


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    page = open(sys.argv[1], encoding="utf-8").read()
    outdir, wanted = sys.argv[2], set(sys.argv[3:])
    os.makedirs(outdir, exist_ok=True)
    found = 0
    for match in re.finditer(r'<svg class="chart"(.*?)</svg>', page, flags=re.S):
        chart = re.search(r'data-chart="([^"]+)"', match.group(1)).group(1)
        if wanted and chart not in wanted:
            continue
        head, rest = match.group(1).split(">", 1)
        svg = ('<svg xmlns="http://www.w3.org/2000/svg"' + head + ' style="background:#fafafa">'
               + STYLE + rest + "</svg>\n")
        with open(os.path.join(outdir, chart + ".svg"), "w", encoding="utf-8") as f:
            f.write(svg)
        found += 1
        print(os.path.join(outdir, chart + ".svg"))
    if wanted and found < len(wanted):
        sys.exit(f"only {found} of the {len(wanted)} charts asked for are in {sys.argv[1]}")


if __name__ == "__main__":
    main()
