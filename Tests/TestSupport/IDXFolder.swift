// Test support shared by the test targets: real IDX files (raw or gzip) in a temporary folder.
import Data
import Foundation

/// Writes IDX files into a fresh temporary folder.
public struct IDXFolder {
    public let path: String

    public init() {
        path = TestScratch.path("idx")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { path + "/" + name }

    public func write(_ name: String, _ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
    }

    /// gzip-compresses a written file in place (real gzip), leaving name.gz.
    public func gzip(_ name: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-f", file(name)]
        try! p.run()
        p.waitUntilExit()
        precondition(p.terminationStatus == 0)
    }

    /// A complete MNIST-format folder: `train` and `test` samples of h x w, labels i % classes, and
    /// pixel k of the file `pixel(k)` (a ramp by default; `scrambled` gives images that differ).
    public func writeDataset(train: Int, test: Int, height: Int = 4, width: Int = 4, classes: Int = 10, gzipped: Bool = false,
                             pixel: (Int) -> UInt8 = { UInt8($0 % 256) }) {
        for (prefix, count) in [("train", train), ("t10k", test)] {
            let images = IDXArray(dimensions: [count, height, width], bytes: (0..<(count * height * width)).map(pixel))
            let labels = IDXArray(dimensions: [count], bytes: (0..<count).map { UInt8($0 % classes) })
            write("\(prefix)-images-idx3-ubyte", IDX.encode(images))
            write("\(prefix)-labels-idx1-ubyte", IDX.encode(labels))
            if gzipped {
                gzip("\(prefix)-images-idx3-ubyte")
                gzip("\(prefix)-labels-idx1-ubyte")
            }
        }
    }

    /// Pixel k of a scrambled file: the top byte of a Fibonacci hash (Knuth), fixed and well spread.
    public static func scrambled(_ k: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: (UInt64(k) &* 0x9E37_79B9_7F4A_7C15) >> 56)
    }
}
