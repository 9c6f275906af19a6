// Per-rank timelines for a window of steps (`--trace-steps A:B`), written by rank 0 as trace.json
// in Chrome's trace-event format (Perfetto, chrome://tracing): one process row per rank, named
// "rank R @ host", one complete ("X") event per phase. Events go into arrays made before training,
// so recording allocates nothing. Clocks of different hosts are lined up at the allreduces: every
// rank leaves a step's allreduce at nearly the same instant, so rank r's offset to rank 0 is the
// median over the window of (its allreduce end - rank 0's).
import Collective
import Foundation
import Tensor

public final class StepTrace {
    /// 1-based optimizer steps to record, inclusive.
    public let window: ClosedRange<Int>
    private let capacity: Int
    private var phases: [Int32]
    private var starts: [Double]
    private var ends: [Double]
    private var stepsOf: [Int32]
    private var count = 0
    /// The step being recorded (1-based), or an evaluation/checkpoint after it.
    var step = 0
    /// End of each window step's allreduce, for the clock alignment.
    private var allreduceEnds: [Double]

    init(window: ClosedRange<Int>, accumulate: Int) {
        self.window = window
        // Per step: data, forward, backward per micro-batch, a prefetch, allreduce, optimizer; plus an
        // evaluation and a checkpoint per step at most.
        capacity = window.count * (3 * accumulate + 5)
        phases = [Int32](repeating: 0, count: capacity)
        starts = [Double](repeating: 0, count: capacity)
        ends = [Double](repeating: 0, count: capacity)
        stepsOf = [Int32](repeating: 0, count: capacity)
        allreduceEnds = [Double](repeating: .nan, count: window.count)
    }

    @inline(__always)
    func record(_ phase: Phase, from start: Double, to end: Double) {
        guard window.contains(step), count < capacity else { return }
        phases[count] = Int32(phase.rawValue)
        starts[count] = start
        ends[count] = end
        stepsOf[count] = Int32(step)
        count += 1
        if phase == .allreduce { allreduceEnds[step - window.lowerBound] = end }
    }

    /// Every rank's events on every rank (one allgather of a fixed-size block), clocks aligned to
    /// rank 0's, as trace-event JSON. Collective.
    func gatherJSON(comm: Communicator, hosts: [String]) -> Data {
        let skew = FaultInjection.clockSkew(rank: comm.rank)
        var block = [Double(count)]
        block += (0..<capacity).flatMap { [Double(phases[$0]), starts[$0] + skew, ends[$0] + skew, Double(stepsOf[$0])] }
        block += allreduceEnds.map { $0 + skew }
        let all = comm.allgather(block)
        let reference = Array(all[0].suffix(window.count))
        let offsets = all.map { row -> Double in
            let gaps = zip(row.suffix(window.count), reference).map { $0 - $1 }.filter(\.isFinite)
            return gaps.isEmpty ? 0 : median(gaps)
        }
        // Time zero is the first event of any rank, after alignment.
        let origin = all.indices.flatMap { r in (0..<Int(all[r][0])).map { all[r][1 + 4 * $0 + 1] - offsets[r] } }.min() ?? 0
        var events: [[String: Any]] = []
        for (rank, row) in all.enumerated() {
            events.append(["name": "process_name", "ph": "M", "pid": rank, "tid": 0,
                           "args": ["name": "rank \(rank) @ \(hosts[rank])"]])
            events.append(["name": "process_sort_index", "ph": "M", "pid": rank, "tid": 0, "args": ["sort_index": rank]])
            for i in 0..<Int(row[0]) {
                let base = 1 + 4 * i
                let (start, end) = (row[base + 1] - offsets[rank] - origin, row[base + 2] - offsets[rank] - origin)
                events.append(["name": Phase(rawValue: Int(row[base]))?.name ?? "?", "ph": "X", "pid": rank, "tid": 0,
                               "ts": (start * 1e6 * 1000).rounded() / 1000, "dur": ((end - start) * 1e6 * 1000).rounded() / 1000,
                               "args": ["step": Int(row[base + 3]), "clock_offset_us": (offsets[rank] * 1e6).rounded()]])
            }
        }
        let document: [String: Any] = ["traceEvents": events, "displayTimeUnit": "ms",
                                       "otherData": ["window": "\(window.lowerBound):\(window.upperBound)", "tool": "swift-ddp"]]
        return (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])) ?? Data()
    }
}
