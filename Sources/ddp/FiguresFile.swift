// The JSON figures file of `ddp bench` and `ddp netbench` (rank 0): snake_case keys, sorted,
// never over an existing file.
import ArgumentParser
import Data
import Foundation
import Training

func writeFigures(_ record: some Encodable, to out: String, console: Console) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.keyEncodingStrategy = .convertToSnakeCase
    do {
        try (encoder.encode(record) + Data("\n".utf8)).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
    } catch {
        writeError("cannot write \(out): \(FileProblem.describe(error, path: out))")
        throw ExitCode.failure
    }
    console.line("figures: \(out)")
}

/// The checks `bench` and `netbench` share: batches, step counts, and an --out not yet written.
func validateTiming(batches: [Int], steps: Int, warmup: Int, out: String) throws {
    try requirePath(out, "--out")
    try require(batches.allSatisfy { $0 >= 1 }, "--batches must be at least 1 each")
    try require(steps >= 5, "--steps must be at least 5")
    try require(warmup >= 0, "--warmup must be 0 or more")
    // Step times, phase times and results are kept per step (about 128 bytes) for the medians.
    do { try MemoryBudget.check(128 * (Double(steps) + Double(warmup)), for: "--steps \(steps) --warmup \(warmup) (the per-step timings)") }
    catch { throw ValidationError(String(describing: error)) }
    try require(!FileManager.default.fileExists(atPath: out), "\(out) already exists; choose another --out (nothing was overwritten)")
    // Found before the timing, not after it (the figures were then only on the console).
    let folder = (out as NSString).deletingLastPathComponent
    var isFolder: ObjCBool = false
    try require(folder.isEmpty || (FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue),
                "--out \(out): \(folder) is not an existing folder")
}
