// Training-set augmentation as the CIFAR recipes of He et al. 2016 and Hoffer et al. 2017 use it:
// pad P pixels on each side, crop a random H x W window, flip horizontally with probability 1/2.
// Parsed from `--augment crop:4,flip`; kept in config.json and checkpoints as that text.
import Foundation

public struct Augmentation: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Padding in pixels on each side before the random crop; 0: no crop.
    public var cropPadding: Int
    public var flip: Bool

    public static let grammar = "crop:P (pad P >= 1 pixels, random crop), flip (horizontal, p = 1/2), comma-separated, e.g. crop:4,flip; or none"

    /// The SplitMix64 stream of augmentation draws (1 weights, 2 and 4 synthetic data, 3 shuffling, 6 dropout).
    public static let randomStream: UInt64 = 11

    public init(cropPadding: Int = 0, flip: Bool = false) {
        self.cropPadding = cropPadding
        self.flip = flip
    }

    /// Whether this changes nothing ("none").
    public var isNone: Bool { cropPadding == 0 && !flip }

    /// Throws `AugmentationError` with the grammar for anything it cannot read.
    public static func parse(_ text: String) throws -> Augmentation {
        var result = Augmentation()
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "none" { return result }
        var seen = Set<String>()
        for part in trimmed.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let name = String(part.split(separator: ":", maxSplits: 1).first ?? "")
            guard seen.insert(name).inserted || name.isEmpty else {
                throw AugmentationError(reason: "'\(name)' appears twice")
            }
            if part == "flip" {
                result.flip = true
            } else if part.hasPrefix("crop:"), let p = Int(part.dropFirst(5)), p >= 1, p <= 1024 {
                result.cropPadding = p
            } else {
                throw AugmentationError(reason: "cannot read '\(part)'")
            }
        }
        return result
    }

    /// The `--augment` text this parses from.
    public var description: String {
        isNone ? "none" : ((cropPadding > 0 ? ["crop:\(cropPadding)"] : []) + (flip ? ["flip"] : [])).joined(separator: ",")
    }

    /// Refuses a crop padding that would let a window hold no pixel of the image: the window at
    /// offset 0 (or 2P) of the padded image keeps rows P - H + 1 ... of the image, none when P >= H.
    public func check(height: Int, width: Int) throws {
        if cropPadding >= min(height, width) {
            throw AugmentationError(reason: "padding \(cropPadding) is larger than the \(height) x \(width) images allow "
                                    + "(at most \(min(height, width) - 1): a larger one leaves some crop windows without a pixel of the image)")
        }
    }

    public init(from decoder: Decoder) throws {
        self = try Augmentation.parse(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public struct AugmentationError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { "\(reason); expected \(Augmentation.grammar)" }
}
