// The sweep grid and budget parsers: the input's lines are the values of --global-batch, --rules,
// --seeds and --budget, parsed by the real command (swift-argument-parser, then validate(), which
// builds the plan: every rule, the budget, the distinct points). It throws or plans, never traps;
// a plan has one point per batch x rule x seed.
@testable import ddp
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let lines = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
        .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var arguments = ["--data", "synthetic"]
    for (flag, value) in zip(["--global-batch", "--rules", "--seeds", "--budget"], lines) { arguments += [flag + "=" + value] }
    guard let command = try? SweepCommand.parse(arguments), let plan = try? command.plan() else { return 0 }
    let points = plan.points(in: "sweep")
    if points.count != plan.globalBatches.count * plan.rules.count * plan.seeds.count { fatalError("\(points.count) points for \(arguments)") }
    return 0
}
