// One SVG chart: a frame with title, axes, ticks, grid and axis labels around a plot area, a
// legend in the right margin, and what the series files draw inside. Plain SVG 1.1 with no
// namespace URL (inline in HTML5 it needs none), every coordinate with two decimals.
import Foundation

struct LegendEntry {
    enum Key { case line(dashed: Bool), dotted, marker, cross, swatch, triangle }
    let label: String
    let colour: String
    let key: Key
}

struct Chart {
    /// Unique on the page; also names the chart for the tests (data-chart).
    let id: String
    let title: String
    let xLabel: String
    let yLabel: String
    let x: Scale
    let y: Scale
    var width = 580.0
    var height = 340.0
    /// Margins around the plot area; set them before drawing anything, since marks are placed in pixels.
    var left = 62.0, right = 158.0, top = 32.0, bottom = 46.0
    /// Ticks on x other than the scale's own (bar charts label their groups).
    var xTicks: [Tick]?
    /// Fragments inside the plot area, drawn in order over the grid.
    var body: [String] = []
    /// Fragments over the plot, not clipped (labels above bars).
    var overlay: [String] = []
    var legend: [LegendEntry] = []

    init(id: String, title: String, xLabel: String, yLabel: String, x: Scale, y: Scale,
         width: Double = 580, height: Double = 340) {
        self.id = id
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    var plotX: Double { left }
    var plotY: Double { top }
    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    /// Data to pixels.
    func px(_ value: Double) -> Double { plotX + x.fraction(value) * plotWidth }
    func py(_ value: Double) -> Double { plotY + plotHeight - y.fraction(value) * plotHeight }

    var svg: String {
        let c = Format.coordinate
        var out: [String] = []
        out.append("<svg class=\"chart\" viewBox=\"0 0 \(c(width)) \(c(height))\" width=\"\(c(width))\" height=\"\(c(height))\" "
                   + "role=\"img\" aria-label=\"\(Format.escape(title))\" data-chart=\"\(Format.escape(id))\" "
                   + "data-plot=\"\(c(plotX)) \(c(plotY)) \(c(plotWidth)) \(c(plotHeight))\" "
                   + "data-x-scale=\"\(x.kind.rawValue)\" data-x-domain=\"\(Format.exact(x.lo)) \(Format.exact(x.hi))\" "
                   + "data-y-scale=\"\(y.kind.rawValue)\" data-y-domain=\"\(Format.exact(y.lo)) \(Format.exact(y.hi))\">")
        out.append("<title>\(Format.escape(title))</title>")
        out.append("<defs><clipPath id=\"clip-\(Format.escape(id))\"><rect x=\"\(c(plotX))\" y=\"\(c(plotY))\" "
                   + "width=\"\(c(plotWidth))\" height=\"\(c(plotHeight))\"/></clipPath></defs>")
        out.append("<text class=\"title\" x=\"\(c(plotX))\" y=\"18\">\(Format.escape(title))</text>")
        out.append(contentsOf: grid())
        out.append("<g clip-path=\"url(#clip-\(Format.escape(id)))\">")
        out.append(contentsOf: body)
        out.append("</g>")
        out.append(contentsOf: overlay)
        out.append(contentsOf: axes())
        out.append(contentsOf: legendFragments())
        out.append("</svg>")
        return out.joined(separator: "\n")
    }

    private func grid() -> [String] {
        let c = Format.coordinate
        var out = ["<rect class=\"plot\" x=\"\(c(plotX))\" y=\"\(c(plotY))\" width=\"\(c(plotWidth))\" height=\"\(c(plotHeight))\" fill=\"#ffffff\" stroke=\"none\"/>"]
        for tick in y.ticks where y.contains(tick.value) {
            let ty = py(tick.value)
            out.append("<line x1=\"\(c(plotX))\" y1=\"\(c(ty))\" x2=\"\(c(plotX + plotWidth))\" y2=\"\(c(ty))\" stroke=\"\(Palette.grid)\"/>")
        }
        if xTicks == nil {
            for tick in x.ticks where x.contains(tick.value) {
                let tx = px(tick.value)
                out.append("<line x1=\"\(c(tx))\" y1=\"\(c(plotY))\" x2=\"\(c(tx))\" y2=\"\(c(plotY + plotHeight))\" stroke=\"\(Palette.grid)\"/>")
            }
        }
        return out
    }

    private func axes() -> [String] {
        let c = Format.coordinate
        let bottomY = plotY + plotHeight
        var out = ["<g class=\"axis\" stroke=\"\(Palette.axis)\">",
                   "<line x1=\"\(c(plotX))\" y1=\"\(c(bottomY))\" x2=\"\(c(plotX + plotWidth))\" y2=\"\(c(bottomY))\"/>",
                   "<line x1=\"\(c(plotX))\" y1=\"\(c(plotY))\" x2=\"\(c(plotX))\" y2=\"\(c(bottomY))\"/>",
                   "</g>"]
        for tick in (xTicks ?? x.ticks) where x.contains(tick.value) {
            let tx = px(tick.value)
            out.append("<line x1=\"\(c(tx))\" y1=\"\(c(bottomY))\" x2=\"\(c(tx))\" y2=\"\(c(bottomY + 4))\" stroke=\"\(Palette.axis)\"/>")
            if let label = tick.label {
                out.append("<text class=\"tick\" x=\"\(c(tx))\" y=\"\(c(bottomY + 15))\" text-anchor=\"middle\" "
                           + "data-tick-x=\"\(Format.exact(tick.value))\">\(Format.escape(label))</text>")
            }
        }
        for tick in y.ticks where y.contains(tick.value) {
            let ty = py(tick.value)
            out.append("<line x1=\"\(c(plotX - 4))\" y1=\"\(c(ty))\" x2=\"\(c(plotX))\" y2=\"\(c(ty))\" stroke=\"\(Palette.axis)\"/>")
            if let label = tick.label {
                out.append("<text class=\"tick\" x=\"\(c(plotX - 7))\" y=\"\(c(ty + 3.5))\" text-anchor=\"end\">\(Format.escape(label))</text>")
            }
        }
        out.append("<text class=\"label\" x=\"\(c(plotX + plotWidth / 2))\" y=\"\(c(height - 8))\" text-anchor=\"middle\">\(Format.escape(xLabel))</text>")
        let ly = plotY + plotHeight / 2
        out.append("<text class=\"label\" x=\"14\" y=\"\(c(ly))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(c(ly)))\">\(Format.escape(yLabel))</text>")
        return out
    }

    private func legendFragments() -> [String] {
        guard !legend.isEmpty else { return [] }
        let c = Format.coordinate
        let x0 = plotX + plotWidth + 12
        var out = ["<g class=\"legend\">"]
        for (i, entry) in legend.enumerated() {
            let ty = plotY + 8 + Double(i) * 17
            let colour = Format.escape(entry.colour)
            switch entry.key {
            case .line(let dashed):
                out.append("<line x1=\"\(c(x0))\" y1=\"\(c(ty))\" x2=\"\(c(x0 + 20))\" y2=\"\(c(ty))\" stroke=\"\(colour)\" stroke-width=\"2\""
                           + (dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>")
            case .dotted:
                out.append("<line x1=\"\(c(x0))\" y1=\"\(c(ty))\" x2=\"\(c(x0 + 20))\" y2=\"\(c(ty))\" stroke=\"\(colour)\" stroke-width=\"1.4\" stroke-dasharray=\"\(Chart.dotted)\"/>")
            case .marker:
                out.append("<line x1=\"\(c(x0))\" y1=\"\(c(ty))\" x2=\"\(c(x0 + 20))\" y2=\"\(c(ty))\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
                out.append("<circle cx=\"\(c(x0 + 10))\" cy=\"\(c(ty))\" r=\"3.5\" fill=\"\(colour)\"/>")
            case .cross:
                out.append(Chart.cross(x0 + 10, ty, colour: entry.colour))
            case .triangle:
                out.append("<path d=\"M\(c(x0 + 6)) \(c(ty - 4))L\(c(x0 + 14)) \(c(ty - 4))L\(c(x0 + 10)) \(c(ty + 3))Z\" fill=\"\(colour)\"/>")
            case .swatch:
                out.append("<rect x=\"\(c(x0 + 4))\" y=\"\(c(ty - 6))\" width=\"12\" height=\"12\" fill=\"\(colour)\"/>")
            }
            out.append("<text class=\"legend-label\" x=\"\(c(x0 + 26))\" y=\"\(c(ty + 4))\">\(Format.escape(entry.label))</text>")
        }
        out.append("</g>")
        return out
    }

    static let dotted = "2 3"

    /// An x-shaped marker of half-size 4.5 centred on (cx, cy).
    static func cross(_ cx: Double, _ cy: Double, colour: String, attributes: String = "") -> String {
        let c = Format.coordinate, r = 4.5
        return "<path d=\"M\(c(cx - r)) \(c(cy - r))L\(c(cx + r)) \(c(cy + r))M\(c(cx - r)) \(c(cy + r))L\(c(cx + r)) \(c(cy - r))\" "
            + "stroke=\"\(Format.escape(colour))\" stroke-width=\"2\" fill=\"none\"\(attributes)/>"
    }
}
