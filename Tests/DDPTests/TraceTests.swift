// trace.json as Perfetto and chrome://tracing read it: a JSON object with traceEvents, one
// process row per rank named "rank R @ host", complete events (ph X) with non-negative times for
// the phases of exactly the asked window of steps, and clocks aligned so that the ranks leave
// each allreduce together, even when one rank's clock is set far ahead (DDP_FAULT=skew). Also the per-step imbalance file.
import Foundation
import XCTest

final class TraceTests: XCTestCase {
    func testTraceIsValidChromeTraceForTheWindow() throws {
        let dir = DDPProcess.temporaryFolder("trace")
        // Rank 1's clock reads 1000 s ahead, as another host's might: the trace must line them up.
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "30", "--accumulate", "2",
                                          "--trace-steps", "3:6", "--run-dir", dir], ranks: 2, environment: ["DDP_FAULT": "skew:1000:1"])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let trace = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/trace.json"))) as? [String: Any])
        let events = try XCTUnwrap(trace["traceEvents"] as? [[String: Any]])
        let names = events.filter { $0["ph"] as? String == "M" && $0["name"] as? String == "process_name" }
        XCTAssertEqual(Set(names.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }.map { String($0.prefix(9)) }),
                       ["rank 0 @ ", "rank 1 @ "])
        let complete = events.filter { $0["ph"] as? String == "X" }
        XCTAssertFalse(complete.isEmpty)
        for event in complete {
            XCTAssertTrue([0, 1].contains(event["pid"] as? Int), "\(event)")
            XCTAssertGreaterThanOrEqual(event["ts"] as? Double ?? -1, 0, "\(event)")
            XCTAssertGreaterThanOrEqual(event["dur"] as? Double ?? -1, 0, "\(event)")
            XCTAssertTrue(["data", "forward", "backward", "allreduce", "optimizer", "evaluation", "checkpoint"].contains(event["name"] as? String))
        }
        let steps = Set(complete.compactMap { ($0["args"] as? [String: Any])?["step"] as? Int })
        XCTAssertEqual(steps, [3, 4, 5, 6])
        // Per rank and step: 2 micro-batches give 2 data, 2 forward and 2 backward events, then one allreduce.
        let rank0step4 = complete.filter { $0["pid"] as? Int == 0 && ($0["args"] as? [String: Any])?["step"] as? Int == 4 }
        XCTAssertEqual(rank0step4.filter { $0["name"] as? String == "forward" }.count, 2)
        XCTAssertEqual(rank0step4.filter { $0["name"] as? String == "allreduce" }.count, 1)
        // Aligned clocks: the 1000 s skew is found, and both ranks leave each allreduce together. The
        // bound is a thousandth of the skew: generous for a rank descheduled on a loaded machine.
        let offsets = complete.filter { $0["pid"] as? Int == 1 }.compactMap { ($0["args"] as? [String: Any])?["clock_offset_us"] as? Double }
        XCTAssertFalse(offsets.isEmpty)
        for offset in offsets { XCTAssertEqual(offset, 1000e6, accuracy: 1e6) }
        for step in 3...6 {
            let ends = complete.filter { $0["name"] as? String == "allreduce" && ($0["args"] as? [String: Any])?["step"] as? Int == step }
                .map { ($0["ts"] as! Double) + ($0["dur"] as! Double) }
            XCTAssertEqual(ends.count, 2)
            XCTAssertLessThan(abs(ends[0] - ends[1]), 1e6, "step \(step): \(ends) us")
        }

        let imbalance = try String(contentsOfFile: dir + "/imbalance.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(imbalance.first, "rank,host,wait_seconds,straggler_steps")
        let stragglerSteps = imbalance.dropFirst().map { Int($0.split(separator: ",")[3])! }
        XCTAssertEqual(stragglerSteps.reduce(0, +), 30, "each step has one last arrival")
    }
}
