// One fixed palette: a scaling rule has the same colour in every chart of every report, and
// timing phases have their own three colours. Okabe-Ito hues, readable by colour-blind readers.

public enum Palette {
    /// The rules the sweep knows, in the order the report lists them; a warmup variant is a
    /// lighter tone of its rule's hue.
    static let knownRules: [(rule: String, colour: String)] = [
        ("none", "#4d4d4d"),
        ("linear", "#0072b2"),
        ("linear+warmup", "#56b4e9"),
        ("sqrt", "#d55e00"),
        ("sqrt+warmup", "#e69f00"),
        ("lars", "#009e73"),
        ("lars+warmup", "#7dd3a8"),
    ]

    /// For rules outside the list, by their sorted order.
    static let extra = ["#cc79a7", "#8c564b", "#9467bd", "#bcbd22", "#17becf", "#7f7f7f"]

    /// Known rules first in their fixed order, then the others alphabetically.
    public static func ordered(_ rules: some Sequence<String>) -> [String] {
        let distinct = Set(rules)
        let known = knownRules.map(\.rule).filter { distinct.contains($0) }
        return known + distinct.subtracting(known).sorted()
    }

    /// The rule's colour; an unknown rule takes the next extra colour by its rank among `rules`.
    public static func colour(_ rule: String, among rules: [String] = []) -> String {
        if let known = knownRules.first(where: { $0.rule == rule }) { return known.colour }
        let unknown = Set(rules).subtracting(knownRules.map(\.rule)).union([rule]).sorted()
        return extra[(unknown.firstIndex(of: rule) ?? 0) % extra.count]
    }

    static let compute = "#8da0cb"
    static let allreduce = "#66a61e"
    static let wait = "#e7298a"
    static let reference = "#999999"
    static let axis = "#333333"
    static let grid = "#e6e6e6"
}
