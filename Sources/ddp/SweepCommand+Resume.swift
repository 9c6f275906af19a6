// `ddp sweep --resume DIR`: the stored sweep.json is the sweep; a flag given on this command line
// that would change it is named and refused, rather than silently ignored.
import Foundation
import Training

extension SweepCommand {
    /// The given flags (as `--name`) whose value differs from `stored`'s, comparing this command's
    /// plan with the stored one field by field in their JSON form.
    func contradictions(with stored: SweepPlan, given: [String]) throws -> [String] {
        let fresh = try plan()
        let fields = { (plan: SweepPlan) in try ResumeFlags.fields([plan.base, plan.base.optim, plan]) }
        return ResumeFlags.contradictions(given: given, now: try fields(fresh), then: try fields(stored),
                                          renamed: ["global-batch": "globalBatches", "lars-lr": "larsLearningRate", "lamb-lr": "lambLearningRate"]) { flag in
            flag == "out" ? out != stored.directory : nil
        }
    }
}
