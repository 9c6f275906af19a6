// A ddp job (mpirun, or a launch script) started in the background, so a test can signal it
// mid-run the way a user, a scheduler or a second Ctrl-C would, then collect what it printed.
import Foundation
import XCTest

final class RunningProcess {
    let process = Process()
    let outPath = DDPProcess.temporaryFolder("stdout"), errPath = DDPProcess.temporaryFolder("stderr")
    /// Monotonic seconds (an NTP step does not move them) at the first `signal` and at the exit.
    private(set) var signalledAt: Double?
    private let exitedAt = ExitTime()

    /// Set once by the termination handler's thread, read by the test's.
    final class ExitTime: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds: Double?
        var value: Double? {
            get { lock.withLock { seconds } }
            set { lock.withLock { seconds = newValue } }
        }
    }

    /// `program arguments` with the ranks' environment and `extra`; output goes to files.
    init(_ program: String, _ arguments: [String], environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }.merging(DDPProcess.rankEnvironment) { $1 }
        for path in [outPath, errPath] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let exitedAt = self.exitedAt
        process.terminationHandler = { _ in exitedAt.value = ProcessInfo.processInfo.systemUptime }
        try process.run()
    }

    /// `ddp arguments` under mpirun with `ranks` ranks, as DDPProcess.run starts it.
    static func mpirun(_ arguments: [String], ranks: Int, environment: [String: String] = [:]) throws -> RunningProcess {
        let (mpirun, flags) = try DDPProcess.mpirunCommand(ranks: ranks)
        return try RunningProcess(mpirun, flags + [DDPProcess.executable] + arguments, environment: environment)
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ number: Int32) {
        if signalledAt == nil { signalledAt = ProcessInfo.processInfo.systemUptime }
        kill(pid, number)
    }

    /// Seconds from the first `signal` to the exit, after `finish`: neither the start-up nor the
    /// test's own waiting and reading counts.
    var secondsFromSignalToExit: Double? {
        guard let signalledAt, RunningProcess.waitFor(seconds: 10, { exitedAt.value != nil }) else { return nil }
        return exitedAt.value.map { $0 - signalledAt }
    }

    /// Every process below this one (mpirun's ranks, a script's mpirun), from /proc.
    var descendants: [Int32] {
        var parents: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid ...": comm may hold spaces, so count fields after the last ')'.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[child] = parent }
        }
        var found: [Int32] = []
        var frontier = [pid]
        while let next = frontier.popLast() {
            let children = parents.filter { $0.value == next }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }

    /// The ddp processes below this one (the ranks).
    var ranks: [Int32] {
        descendants.filter { (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.hasPrefix("ddp") ?? false }
    }

    /// Polls until `condition` holds or `seconds` pass; returns whether it held.
    @discardableResult
    static func waitFor(seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(2_000)
        }
        return condition()
    }

    /// Waits for the end (at most `seconds`, then SIGKILL and a failure) and returns the outcome.
    func finish(within seconds: Double = 300, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        if !RunningProcess.waitFor(seconds: seconds, { !process.isRunning }) {
            XCTFail("still running after \(seconds) s", file: file, line: line)
            for child in descendants { kill(child, SIGKILL) }
            kill(pid, SIGKILL)
        }
        process.waitUntilExit()
        defer { for path in [outPath, errPath] { try? FileManager.default.removeItem(atPath: path) } }
        return Outcome(status: process.terminationStatus, stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                       stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }
}

/// The parameters in a model.safetensors, all tensors in name order (what two runs compare).
func safetensorsParameters(_ path: String) throws -> [Float] {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let headerLength = bytes.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
    var values: [Float] = []
    for name in header.keys.sorted() where name != "__metadata__" {
        let offsets = (header[name] as! [String: Any])["data_offsets"] as! [Int]
        let start = 8 + headerLength + offsets[0], end = 8 + headerLength + offsets[1]
        values += bytes[start..<end].withUnsafeBytes { raw in
            (0..<(end - start) / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
    return values
}

/// |a - b| / |b| over all parameters.
func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (difference / norm).squareRoot()
}
