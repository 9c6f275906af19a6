// The page around the charts: one self-contained HTML5 file with its CSS inline, no script and
// nothing fetched, so it opens from disk in any browser and can be mailed as one attachment.

struct HTMLPage {
    let title: String
    var subtitle: String = ""
    var sections: [String] = []

    var html: String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(Format.escape(title))</title>
        <style>
        \(HTMLPage.css)
        </style>
        </head>
        <body>
        <header>
        <h1>\(Format.escape(title))</h1>
        \(subtitle)
        </header>
        <main>
        \(sections.joined(separator: "\n"))
        </main>
        <footer>Written by <code>ddp report</code>: inline SVG, no scripts, nothing loaded from a network.</footer>
        </body>
        </html>

        """
    }

    static let css = """
    body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #222; margin: 0 auto; max-width: 1400px; padding: 0 24px 40px; }
    h1 { font-size: 22px; margin: 20px 0 4px; }
    h2 { font-size: 17px; margin: 32px 0 6px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
    p.lead { color: #444; margin: 4px 0 10px; max-width: 90ch; }
    p.missing { color: #8a5a00; background: #fff8e6; padding: 6px 10px; border-left: 3px solid #e6a100; max-width: 90ch; }
    .figures { display: flex; flex-wrap: wrap; gap: 18px 22px; align-items: flex-start; }
    figure { margin: 0; }
    figcaption { font-size: 12.5px; color: #444; max-width: 600px; margin-top: 2px; }
    svg.chart { display: block; max-width: 100%; height: auto; background: #fafafa; border: 1px solid #e4e4e4; }
    svg.chart text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 11px; fill: #333; }
    svg.chart text.title { font-size: 13px; font-weight: 600; fill: #111; }
    svg.chart text.label { font-size: 11.5px; fill: #222; }
    svg.chart text.tick { font-size: 10px; fill: #555; }
    svg.chart text.note { font-size: 10px; fill: #555; }
    table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
    th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; white-space: nowrap; }
    th { background: #f0f0f0; position: sticky; top: 0; white-space: normal; vertical-align: bottom; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; }
    tr.diverged td { background: #fdecec; color: #8b1a1a; }
    .table-wrap { overflow-x: auto; max-width: 100%; }
    dl.summary { display: grid; grid-template-columns: max-content 1fr max-content 1fr max-content 1fr; gap: 2px 14px; font-size: 13px; }
    dl.summary dt { color: #666; }
    dl.summary dd { margin: 0; font-variant-numeric: tabular-nums; }
    .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: baseline; }
    .stroke { display: inline-block; width: 22px; margin-right: 4px; vertical-align: middle; border-top: 2px solid #333; }
    .stroke.dashed { border-top-style: dashed; }
    p.key { font-size: 13px; margin: 4px 0 10px; }
    .figures + .figures { margin-top: 18px; }
    details { margin: 8px 0; }
    details pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; max-height: 480px; }
    code { font-size: 12.5px; }
    footer { margin-top: 36px; color: #888; font-size: 12px; }
    """

    static func section(_ title: String, id: String, lead: String = "", _ content: [String]) -> String {
        "<section id=\"\(Format.escape(id))\">\n<h2>\(Format.escape(title))</h2>\n"
            + (lead.isEmpty ? "" : "<p class=\"lead\">\(lead)</p>\n") + content.joined(separator: "\n") + "\n</section>"
    }

    /// A chart and its one-sentence caption; a note in its place when there is nothing to draw.
    static func figure(_ chart: Chart?, caption: String, missing: String) -> String {
        guard let chart else { return note(missing) }
        return "<figure style=\"max-width:\(Int(chart.width))px\">\n\(chart.svg)\n<figcaption>\(Format.escape(caption))</figcaption>\n</figure>"
    }

    /// Figures side by side, wrapping.
    static func row(_ figures: [String]) -> String {
        "<div class=\"figures\">\n" + figures.joined(separator: "\n") + "\n</div>"
    }

    /// The shared key of a row of small multiples: each rule's colour, and line styles if given.
    static func key(rules: [String], styles: [(label: String, dashed: Bool)] = []) -> String {
        let colours = rules.map { "<span class=\"swatch\" style=\"background:\(Palette.colour($0, among: rules))\"></span>\(Format.escape($0))" }
        let lines = styles.map { "<span class=\"stroke\(($0.dashed ? " dashed" : ""))\"></span>\(Format.escape($0.label))" }
        return "<p class=\"key\">" + (colours + lines).joined(separator: " &nbsp; ") + "</p>"
    }

    static func note(_ text: String) -> String {
        "<p class=\"missing\">\(Format.escape(text))</p>"
    }

    /// A table of text cells; `numeric` cells are right-aligned; `rowClass` marks rows (diverged).
    static func table(header: [String], rows: [[String]], rowClass: (Int) -> String? = { _ in nil }) -> String {
        // A long name may break after an underscore; a long number shows six significant digits, in full on hover.
        let names = header.map { Format.escape($0).replacingOccurrences(of: "_", with: "_<wbr>") }
        var out = ["<div class=\"table-wrap\"><table>", "<thead><tr>" + names.map { "<th>\($0)</th>" }.joined() + "</tr></thead>", "<tbody>"]
        for (i, row) in rows.enumerated() {
            let cls = rowClass(i).map { " class=\"\(Format.escape($0))\"" } ?? ""
            out.append("<tr\(cls)>" + row.map { cell in
                guard let value = Double(cell) else { return "<td>\(Format.escape(cell))</td>" }
                // A whole number (a seed, a step count, a batch) is shown in full: %.6g made seed
                // 123456789012 read 1.23457e+11, another seed.
                let whole = cell.drop(while: { $0 == "-" }).allSatisfy { $0.isASCII && $0.isWholeNumber }
                let short = whole ? cell : String(format: "%.6g", value)
                let shown = short.count < cell.count ? short : cell
                let title = shown == cell ? "" : " title=\"\(Format.escape(cell))\""
                return "<td class=\"num\"\(title)>\(Format.escape(shown))</td>"
            }.joined() + "</tr>")
        }
        out.append("</tbody></table></div>")
        return out.joined(separator: "\n")
    }

    /// Pairs in a compact grid of three columns.
    static func summary(_ pairs: [(String, String)]) -> String {
        "<dl class=\"summary\">" + pairs.map { "<dt>\(Format.escape($0.0))</dt><dd>\(Format.escape($0.1))</dd>" }.joined() + "</dl>"
    }

    /// A file's text, folded away.
    static func details(_ summary: String, text: String) -> String {
        "<details><summary>\(Format.escape(summary))</summary><pre>\(Format.escape(text))</pre></details>"
    }
}
