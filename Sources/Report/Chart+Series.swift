// What goes inside a chart's plot area: line series with markers, min-max error bars, markers
// for runs left out of a mean, a reference line, and stacked bars. Each mark carries its data
// values (data-x, data-y, ...) beside its pixels, so a test can check one against the other.
import Foundation

struct Point: Equatable {
    var x: Double
    var y: Double
    init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

extension Chart {
    /// A polyline through the points in order, broken where a point cannot be drawn (not finite,
    /// or not positive on a log axis). A point alone in its piece (a run evaluated once) is a dot,
    /// since a polyline of one point draws nothing.
    mutating func line(_ points: [Point], colour: String, series: String, dashed: Bool = false,
                       width: Double = 1.6, opacity: Double = 1) {
        let c = Format.coordinate
        var segments: [[Point]] = [[]]
        for p in points {
            if drawable(p) { segments[segments.count - 1].append(p) } else if !segments[segments.count - 1].isEmpty { segments.append([]) }
        }
        for segment in segments where segment.count == 1 {
            let p = segment[0]
            body.append("<circle cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"\(c(width + 1.2))\" fill=\"\(Format.escape(colour))\""
                        + (opacity < 1 ? " fill-opacity=\"\(c(opacity))\"" : "") + " data-role=\"lone-point\" data-series=\"\(Format.escape(series))\" "
                        + "data-x=\"\(Format.exact(p.x))\" data-y=\"\(Format.exact(p.y))\"/>")
        }
        for segment in segments where segment.count >= 2 {
            let coordinates = segment.map { "\(c(px($0.x))),\(c(py($0.y)))" }.joined(separator: " ")
            body.append("<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(Format.escape(colour))\" stroke-width=\"\(c(width))\""
                        + (dashed ? " stroke-dasharray=\"5 3\"" : "") + (opacity < 1 ? " stroke-opacity=\"\(c(opacity))\"" : "")
                        + " stroke-linejoin=\"round\" data-series=\"\(Format.escape(series))\"/>")
        }
    }

    /// One filled circle per point, carrying its values.
    mutating func markers(_ points: [Point], colour: String, series: String, role: String = "mean") {
        let c = Format.coordinate
        for p in points where drawable(p) {
            body.append("<circle cx=\"\(c(px(p.x)))\" cy=\"\(c(py(p.y)))\" r=\"3.5\" fill=\"\(Format.escape(colour))\" stroke=\"#ffffff\" stroke-width=\"0.8\" "
                        + "data-role=\"\(role)\" data-series=\"\(Format.escape(series))\" data-x=\"\(Format.exact(p.x))\" data-y=\"\(Format.exact(p.y))\"/>")
        }
    }

    /// A vertical bar from lo to hi at x, with caps.
    mutating func errorBar(x: Double, lo: Double, hi: Double, colour: String, series: String, dodge: Double = 0) {
        guard drawable(Point(x, lo)), drawable(Point(x, hi)) else { return }
        let c = Format.coordinate
        let (cx, y1, y2) = (px(x) + dodge, py(lo), py(hi))
        body.append("<path d=\"M\(c(cx)) \(c(y1))V\(c(y2))M\(c(cx - 4)) \(c(y1))H\(c(cx + 4))M\(c(cx - 4)) \(c(y2))H\(c(cx + 4))\" "
                    + "stroke=\"\(Format.escape(colour))\" stroke-width=\"1.2\" fill=\"none\" data-role=\"range\" "
                    + "data-series=\"\(Format.escape(series))\" data-x=\"\(Format.exact(x))\" data-lo=\"\(Format.exact(lo))\" data-hi=\"\(Format.exact(hi))\"/>")
    }

    /// An x on the bottom (or top) edge of the plot at x: a run that has no value to average,
    /// e.g. one that diverged or never reached the target. `offset` spreads several at one x.
    mutating func edgeCross(x: Double, colour: String, series: String, run: String, atTop: Bool = false, offset: Double = 0) {
        guard x.isFinite, self.x.contains(x) else { return }
        let cy = atTop ? plotY + 7 : plotY + plotHeight - 7
        let attributes = " data-role=\"excluded\" data-series=\"\(Format.escape(series))\" data-x=\"\(Format.exact(x))\" data-run=\"\(Format.escape(run))\""
        overlay.append(Chart.cross(px(x) + offset, cy, colour: colour, attributes: attributes))
    }

    /// A straight reference line between two data points, clipped to the plot (its ends may lie outside).
    mutating func referenceLine(from a: Point, to b: Point, role: String) {
        func finite(_ p: Point) -> Bool {
            p.x.isFinite && p.y.isFinite && (x.kind == .linear || p.x > 0) && (y.kind == .linear || p.y > 0)
        }
        guard finite(a), finite(b) else { return }
        let c = Format.coordinate
        body.append("<line x1=\"\(c(px(a.x)))\" y1=\"\(c(py(a.y)))\" x2=\"\(c(px(b.x)))\" y2=\"\(c(py(b.y)))\" stroke=\"\(Palette.reference)\" "
                    + "stroke-width=\"1.4\" stroke-dasharray=\"\(Chart.dotted)\" data-role=\"\(role)\"/>")
    }

    /// Text at a data point (clipped with the plot).
    mutating func note(_ text: String, at p: Point, dx: Double = 4, dy: Double = -4, anchor: String = "start") {
        guard drawable(p) else { return }
        let c = Format.coordinate
        body.append("<text class=\"note\" x=\"\(c(px(p.x) + dx))\" y=\"\(c(py(p.y) + dy))\" text-anchor=\"\(anchor)\">\(Format.escape(text))</text>")
    }

    /// One bar centred at `center` (x data units) of `width`, its segments stacked from 0 upward.
    mutating func stackedBar(center: Double, width: Double, segments: [(name: String, value: Double, colour: String)], label: String) {
        let c = Format.coordinate
        var base = 0.0
        for segment in segments where segment.value.isFinite && segment.value > 0 {
            let top = base + segment.value
            let (x1, x2) = (px(center - width / 2), px(center + width / 2))
            let (y1, y2) = (py(top), py(base))
            body.append("<rect x=\"\(c(x1))\" y=\"\(c(y1))\" width=\"\(c(x2 - x1))\" height=\"\(c(max(y2 - y1, 0)))\" fill=\"\(Format.escape(segment.colour))\" "
                        + "data-role=\"segment\" data-bar=\"\(Format.escape(label))\" data-segment=\"\(Format.escape(segment.name))\" "
                        + "data-value=\"\(Format.exact(segment.value))\"><title>\(Format.escape("\(label) \(segment.name): \(Format.number(segment.value)) s"))</title></rect>")
            base = top
        }
    }

    /// Text over the plot, above the point (not clipped: labels over bars).
    mutating func label(_ text: String, at p: Point, dy: Double = -4, cssClass: String = "note") {
        let c = Format.coordinate
        overlay.append("<text class=\"\(cssClass)\" x=\"\(c(px(p.x)))\" y=\"\(c(max(py(p.y) + dy, plotY - 2)))\" text-anchor=\"middle\">\(Format.escape(text))</text>")
    }

    func drawable(_ p: Point) -> Bool {
        x.contains(p.x) && y.contains(p.y)
    }
}
