// Reads back the SVG the report emits: cuts each <svg>...</svg> out of the page and parses it
// with XMLParser (FoundationXML on Linux, which needs libxml2 at run time), so a fragment that
// is not well-formed XML fails the test, and the elements' attributes can be checked.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

struct SVGElement {
    let name: String
    let attributes: [String: String]

    func number(_ key: String) -> Double? { attributes[key].flatMap(Double.init) }
    func numbers(_ key: String) -> [Double] { (attributes[key] ?? "").split(separator: " ").compactMap { Double($0) } }
}

struct SVGChart {
    let text: String
    let elements: [SVGElement]
    var root: SVGElement { elements[0] }
    var id: String { root.attributes["data-chart"] ?? "" }

    func all(_ name: String, _ attribute: String? = nil, equal value: String? = nil) -> [SVGElement] {
        elements.filter { $0.name == name && (attribute == nil || value == nil || $0.attributes[attribute!] == value) }
    }

    /// Data to pixels as the chart's own root attributes describe its axes.
    func pixelX(_ value: Double) -> Double { pixel(value, axis: "x") }
    func pixelY(_ value: Double) -> Double { pixel(value, axis: "y") }
    func dataY(_ pixel: Double) -> Double { data(pixel, axis: "y") }
    func dataX(_ pixel: Double) -> Double { data(pixel, axis: "x") }

    private func transform(_ v: Double, _ axis: String) -> Double {
        root.attributes["data-\(axis)-scale"] == "log2" ? log2(v) : v
    }

    private func pixel(_ value: Double, axis: String) -> Double {
        let plot = root.numbers("data-plot"), domain = root.numbers("data-\(axis)-domain")
        let f = (transform(value, axis) - transform(domain[0], axis)) / (transform(domain[1], axis) - transform(domain[0], axis))
        return axis == "x" ? plot[0] + f * plot[2] : plot[1] + plot[3] - f * plot[3]
    }

    private func data(_ pixel: Double, axis: String) -> Double {
        let plot = root.numbers("data-plot"), domain = root.numbers("data-\(axis)-domain")
        let f = axis == "x" ? (pixel - plot[0]) / plot[2] : (plot[1] + plot[3] - pixel) / plot[3]
        let (a, b) = (transform(domain[0], axis), transform(domain[1], axis))
        let t = a + f * (b - a)
        return root.attributes["data-\(axis)-scale"] == "log2" ? pow(2, t) : t
    }
}

final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [SVGElement] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(SVGElement(name: name, attributes: attributes))
    }
}

enum SVGReader {
    /// Every <svg> fragment of the page, each parsed as XML; fails the test for one that is not well-formed.
    static func charts(in html: String, file: StaticString = #filePath, line: UInt = #line) -> [SVGChart] {
        var charts: [SVGChart] = []
        var rest = html[...]
        while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound..<rest.endIndex) {
            let text = String(rest[start.lowerBound..<end.upperBound])
            let parser = XMLParser(data: Data(text.utf8))
            let collector = ElementCollector()
            parser.delegate = collector
            let ok = parser.parse()
            XCTAssertTrue(ok, "SVG fragment is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(text.prefix(300))",
                          file: file, line: line)
            if ok { charts.append(SVGChart(text: text, elements: collector.elements)) }
            rest = rest[end.upperBound...]
        }
        return charts
    }

    static func chart(_ id: String, in charts: [SVGChart], file: StaticString = #filePath, line: UInt = #line) throws -> SVGChart {
        try XCTUnwrap(charts.first { $0.id == id }, "no chart \(id) among \(charts.map(\.id))", file: file, line: line)
    }
}
