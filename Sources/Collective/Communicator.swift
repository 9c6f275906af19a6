// The collectives a data-parallel trainer needs, over MPI or within one process.
// Every rank must issue the same collectives in the same order, or the job hangs.

/// A group of ranks that train one model together.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// The host this rank runs on (for timing tables and traces).
    var hostName: String { get }
    /// Whether a collective may be issued from a thread other than the main one (never concurrently).
    var allowsCollectivesOffMainThread: Bool { get }
    /// What the caller is doing, for the collective watchdog's message (no allocation).
    func setContext(_ phase: StaticString, step: Int)

    /// In-place elementwise sum over ranks.
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>)
    func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>)
    /// In-place elementwise minimum over ranks.
    func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int32>)
    /// Copies `root`'s buffer to every rank.
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int)
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int)
    /// Every rank contributes `local` (same length on every rank); returns all of them, rank order.
    func allgather(bytes local: [UInt8]) -> [[UInt8]]
    func barrier()
    /// Ends the whole job at once (for faults that leave no clean way out).
    func abort(code: Int32) -> Never
    /// Leaves the group cleanly; call once, last.
    func finalize()
}

extension Communicator {
    /// `root`'s bytes on every rank (other ranks pass anything; the length travels first).
    public func broadcast(bytes: [UInt8], root: Int) -> [UInt8] {
        var length = [Double(bytes.count)]
        length.withUnsafeMutableBytes { broadcast($0, root: root) }
        var all = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        all.withUnsafeMutableBytes { broadcast($0, root: root) }
        return all
    }

    public func allgather(_ local: [Double]) -> [[Double]] {
        let bytes = local.withUnsafeBytes { Array($0) }
        return allgather(bytes: bytes).map { row in
            row.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        }
    }

    public func allgather(_ local: UInt64) -> [UInt64] {
        allgather([Double(bitPattern: local)]).map { $0[0].bitPattern }
    }

    /// Strings are padded to `width` bytes so every rank sends the same length.
    public func allgather(_ local: String, width: Int = 256) -> [String] {
        var bytes = Array(local.utf8.prefix(width))
        bytes += [UInt8](repeating: 0, count: width - bytes.count)
        return allgather(bytes: bytes).map { row in
            String(decoding: row.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The lowest rank for which `failed` is true, or nil if none did. Collective.
    public func firstFailingRank(_ failed: Bool) -> Int? {
        var value = [Int32(failed ? rank : size)]
        value.withUnsafeMutableBufferPointer { allreduceMin($0) }
        return value[0] < Int32(size) ? Int(value[0]) : nil
    }
}
