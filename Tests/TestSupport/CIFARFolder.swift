// Test support: CIFAR-10 binary batch files (the layout of cifar-10-batches-bin) in an IDXFolder's
// temporary folder, with a few records each, learnable: each image is its class's fixed random
// pattern plus seeded noise, so a model's loss falls on it.
import Data
import Foundation

extension IDXFolder {
    /// `count` records of 1 label byte + 3 x 32 x 32 pixels; records of one (seed, first) are always the same.
    public static func cifarRecords(count: Int, seed: UInt64, first: Int = 0) -> [UInt8] {
        let pixels = CIFAR10Folder.recordSize - 1
        var out: [UInt8] = []
        out.reserveCapacity(count * CIFAR10Folder.recordSize)
        for r in first..<(first + count) {
            let label = Int(hash(seed, UInt64(r), 0) % 10)
            out.append(UInt8(label))
            for p in 0..<pixels {
                let pattern = hash(0, UInt64(label), UInt64(p)) & 0xFF
                let noise = hash(seed, UInt64(r), UInt64(p + 1)) & 0xFF
                out.append(UInt8((pattern + noise) / 2))
            }
        }
        return out
    }

    /// data_batch_1.bin ... data_batch_5.bin with `perBatch` records each and test_batch.bin with `test`.
    public func writeCIFAR10(perBatch: Int, test: Int, seed: UInt64 = 1) {
        for (b, name) in CIFAR10Folder.trainFiles.enumerated() {
            write(name, IDXFolder.cifarRecords(count: perBatch, seed: seed, first: b * perBatch))
        }
        write(CIFAR10Folder.testFile, IDXFolder.cifarRecords(count: test, seed: seed &+ 1))
    }

    /// SplitMix64's finalizer over three words: a fixed pseudo-random value per (a, b, c).
    static func hash(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var z = a &* 0x9E37_79B9_7F4A_7C15 ^ b &* 0xD1B5_4A32_D192_ED03 ^ c &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
