// Small run and sweep folders in a temporary directory, in exactly the formats `ddp train` and
// `ddp sweep` write: summary.json, metrics.csv, steps.csv, timing.csv, config.json, results.csv,
// sweep.json. The numbers are chosen so means and waits are known exactly.
import Foundation
import TestSupport

enum Fixtures {
    static func temporaryFolder(_ name: String) -> String {
        let path = TestScratch.path("report-\(name)")
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ text: String, to path: String) {
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// One sweep result: results.csv's fields that the figures use.
    struct Result {
        let rule: String, batch: Int, seed: Int
        let testAcc: Double, trainAcc: Double
        let stepsToTarget: Int?
        let diverged: Bool
        let gns: Double?
        let sharpness: Double?
        var run: String { "\(rule.replacingOccurrences(of: "+", with: "-"))-b\(batch)-s\(seed)" }
    }

    /// 2 rules x 2 batches x 2 seeds; sqrt+warmup at 128, seed 2 diverged.
    static let results: [Result] = [
        Result(rule: "linear", batch: 64, seed: 1, testAcc: 0.80, trainAcc: 0.84, stepsToTarget: 400, diverged: false, gns: 150, sharpness: 2.0),
        Result(rule: "linear", batch: 64, seed: 2, testAcc: 0.82, trainAcc: 0.85, stepsToTarget: 420, diverged: false, gns: 170, sharpness: 2.5),
        Result(rule: "linear", batch: 128, seed: 1, testAcc: 0.78, trainAcc: 0.84, stepsToTarget: 210, diverged: false, gns: 180, sharpness: 3.0),
        Result(rule: "linear", batch: 128, seed: 2, testAcc: 0.76, trainAcc: 0.83, stepsToTarget: 230, diverged: false, gns: 200, sharpness: 3.5),
        Result(rule: "sqrt+warmup", batch: 64, seed: 1, testAcc: 0.81, trainAcc: 0.83, stepsToTarget: 390, diverged: false, gns: 140, sharpness: 1.5),
        Result(rule: "sqrt+warmup", batch: 64, seed: 2, testAcc: 0.83, trainAcc: 0.86, stepsToTarget: 410, diverged: false, gns: 160, sharpness: 1.8),
        Result(rule: "sqrt+warmup", batch: 128, seed: 1, testAcc: 0.79, trainAcc: 0.85, stepsToTarget: 260, diverged: false, gns: 190, sharpness: 2.2),
        Result(rule: "sqrt+warmup", batch: 128, seed: 2, testAcc: 0.1, trainAcc: 0.1, stepsToTarget: nil, diverged: true, gns: nil, sharpness: nil),
    ]

    static let resultsHeader = "run,global_batch,rule,seed,optimizer,peak_lr,warmup_epochs,epochs,steps,test_acc,best_test_acc,train_acc,gap,"
        + "test_loss,train_loss,target,steps_to_target,wall_seconds,samples_per_sec,diverged,gns,sharpness"

    /// A sweep folder with results.csv, sweep.json and one run folder per row (the diverged one partial).
    static func sweep() -> String {
        let dir = temporaryFolder("sweep")
        var lines = [resultsHeader]
        for r in results {
            let peak = r.rule == "linear" ? 0.01 * Double(r.batch) / 64 : 0.01 * (Double(r.batch) / 64).squareRoot()
            let steps = 2 * 6400 / r.batch
            let cells: [String] = [
                r.run, String(r.batch), r.rule, String(r.seed), "sgd", "\(peak)", r.rule.hasSuffix("warmup") ? "0.5" : "0", "2", String(steps),
                "\(r.testAcc)", "\(r.testAcc + 0.005)", "\(r.trainAcc)", "\(r.trainAcc - r.testAcc)", "0.55", "0.45", "0.75",
                r.stepsToTarget.map(String.init) ?? "", "3.5", "3657.1", r.diverged ? "yes" : "no",
                r.gns.map { "\($0)" } ?? "", r.sharpness.map { "\($0)" } ?? "",
            ]
            lines.append(cells.joined(separator: ","))
            let runDir = dir + "/" + r.run
            if r.diverged {
                write("{\"config\": {\"global_batch\": \(r.batch)}}\n", to: runDir + "/config.json")
                write("step,epoch,lr,loss,accuracy,samples,gns\n1,1,0.01,2.3,0.1,\(r.batch),\n2,1,0.01,nan,0.1,\(r.batch),\n", to: runDir + "/steps.csv")
                write("epoch,step,lr,train_loss,train_acc,test_loss,test_acc,gap,loss_gap,gns,samples_per_sec,seconds\n"
                      + "0.5,50,0.01,nan,0.1,nan,0.1,0,nan,,1000,0.5\n", to: runDir + "/metrics.csv")
            } else {
                writeRun(runDir, rule: r.rule, batch: r.batch, seed: r.seed, peakLr: peak, steps: steps,
                         testAcc: r.testAcc, trainAcc: r.trainAcc, gns: r.gns)
            }
        }
        write(lines.joined(separator: "\n") + "\n", to: dir + "/results.csv")
        write("{\n  \"batches\": [64, 128],\n  \"rules\": [\"linear\", \"sqrt+warmup\"],\n  \"seeds\": [1, 2],\n  \"target\": 0.75\n}\n",
              to: dir + "/sweep.json")
        return dir
    }

    /// The same run's imbalance.csv: rank 0's waits summed step by step (0.375 s), which differs
    /// from the difference of allreduce totals (0.5 s) as it does in real runs.
    static let imbalanceCSV = "rank,host,wait_seconds,straggler_steps\n0,hostA,0.375,0\n1,hostB,0,8\n"

    /// Two ranks: rank 0 computes less and waits 0.5 s in allreduce for rank 1, over two epochs.
    /// (Every number is a sum of powers of two, so the expected seconds are exact.)
    static let timingCSV = """
    rank,host,epoch,phase,total_seconds,mean_per_step,max_per_step
    0,hostA,1,data,0.125,0.001,0.002
    0,hostA,1,forward,0.25,0.002,0.004
    0,hostA,1,backward,0.5,0.004,0.008
    0,hostA,1,allreduce,0.5,0.004,0.008
    0,hostA,1,optimizer,0.0625,0.0005,0.001
    0,hostA,1,evaluation,1,1,1
    1,hostB,1,data,0.125,0.001,0.002
    1,hostB,1,forward,0.5,0.004,0.008
    1,hostB,1,backward,0.75,0.006,0.012
    1,hostB,1,allreduce,0.125,0.001,0.002
    1,hostB,1,optimizer,0.0625,0.0005,0.001
    1,hostB,1,evaluation,1,1,1
    0,hostA,2,data,0.125,0.001,0.002
    0,hostA,2,forward,0.25,0.002,0.004
    0,hostA,2,backward,0.5,0.004,0.008
    0,hostA,2,allreduce,0.25,0.002,0.004
    0,hostA,2,optimizer,0.0625,0.0005,0.001
    0,hostA,2,evaluation,1,1,1
    1,hostB,2,data,0.125,0.001,0.002
    1,hostB,2,forward,0.5,0.004,0.008
    1,hostB,2,backward,0.75,0.006,0.012
    1,hostB,2,allreduce,0.125,0.001,0.002
    1,hostB,2,optimizer,0.0625,0.0005,0.001
    1,hostB,2,evaluation,1,1,1

    """

    /// A complete run folder. Evaluations every half epoch; the lr warms up linearly over the first
    /// quarter of the steps for a warmup rule.
    static func writeRun(_ dir: String, rule: String, batch: Int, seed: Int, peakLr: Double, steps: Int,
                         testAcc: Double, trainAcc: Double, gns: Double?) {
        let epochs = 2
        let perEpoch = steps / epochs
        var metrics = ["epoch,step,lr,train_loss,train_acc,test_loss,test_acc,gap,loss_gap,gns,samples_per_sec,seconds"]
        for k in 1...4 {
            let f = Double(k) / 4
            let (train, test) = (0.5 + (trainAcc - 0.5) * f, 0.5 + (testAcc - 0.5) * f)
            metrics.append("\(Double(k) / 2),\(k * perEpoch / 2),\(peakLr),\(1.2 - 0.6 * f),\(train),\(1.25 - 0.55 * f),\(test),"
                           + "\(train - test),\(0.05 * f),\(gns.map { "\($0 * f)" } ?? ""),3657.1,\(Double(k) * 0.8)")
        }
        write(metrics.joined(separator: "\n") + "\n", to: dir + "/metrics.csv")
        var lines = ["step,epoch,lr,loss,accuracy,samples,gns"]
        let warmup = rule.hasSuffix("warmup") ? steps / 4 : 0
        for s in 1...steps {
            let lr = s <= warmup ? 0.01 + (peakLr - 0.01) * Double(s) / Double(warmup) : peakLr
            let g = gns.map { "\($0 * Double(s) / Double(steps))" } ?? ""
            lines.append("\(s),\((s - 1) / perEpoch + 1),\(lr),\(2.3 - 1.5 * Double(s) / Double(steps)),\(0.1 + 0.7 * Double(s) / Double(steps)),\(batch),\(s < 3 ? "" : g)")
        }
        write(lines.joined(separator: "\n") + "\n", to: dir + "/steps.csv")
        write(timingCSV, to: dir + "/timing.csv")
        write(imbalanceCSV, to: dir + "/imbalance.csv")
        let gnsJSON = gns.map { "\($0)" } ?? "null"
        write("""
        {
          "accumulate" : 1, "batch_per_rank" : \(batch / 2), "best_test_acc" : \(testAcc + 0.005), "blas_core" : "Haswell",
          "data" : "synthetic", "diverged" : false, "epochs" : \(epochs), "gap" : \(trainAcc - testAcc), "global_batch" : \(batch),
          "gns" : \(gnsJSON), "hosts" : ["hostA", "hostB"], "loss_gap" : 0.05, "optimizer" : "sgd", "param_checksum" : "0f0f0f0f",
          "peak_lr" : \(peakLr), "rank_checksums" : ["0f0f0f0f", "0f0f0f0f"], "ranks" : 2, "rule" : "\(rule)", "run_dir" : "\(dir)",
          "samples_per_sec" : 3657.1, "sharpness" : null, "steps" : \(steps), "test_acc" : \(testAcc), "test_loss" : 0.7,
          "train_acc" : \(trainAcc), "train_loss" : 0.6, "train_seconds" : 3.5, "wall_seconds" : 4.0
        }

        """, to: dir + "/summary.json")
        write("{\n  \"blas_core\" : \"Haswell\",\n  \"config\" : { \"global_batch\" : \(batch), \"seed\" : \(seed), \"settings\" : { \"lr_scaling\" : \"\(rule)\" } },\n  \"hosts\" : [\"hostA\", \"hostB\"]\n}\n",
              to: dir + "/config.json")
    }

    /// A single run folder with a long steps.csv (2000 steps) to exercise downsampling.
    static func run() -> String {
        let dir = temporaryFolder("run")
        writeRun(dir, rule: "linear+warmup", batch: 64, seed: 1, peakLr: 0.02, steps: 2000, testAcc: 0.85, trainAcc: 0.9, gns: 120)
        return dir
    }
}
