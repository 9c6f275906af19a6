// Study files through a real mpirun: a TOML file's keys are the flags (the command line wins),
// every run folder's config.toml repeats its run bit for bit (`ddp train --config RUN/config.toml`),
// a sweep point's config.toml repeats that point as a `train`, and a broken file is one error.
import Foundation
import XCTest

final class StudyFileTests: XCTestCase {
    func write(_ text: String) throws -> String {
        let path = DDPProcess.temporaryFolder("study") + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func checksum(_ run: String) throws -> String? {
        try DDPProcess.json(run + "/summary.json")["param_checksum"] as? String
    }

    func testStudyFileEqualsItsFlagsAndConfigTomlRepeatsTheRun() throws {
        let study = try write("""
            # keys are flag names
            data = "synthetic"
            steps = 12
            hidden = [64, 32]
            lr = 0.0123456789123
            lr-scaling = "sqrt"
            nesterov = true
            noise-scale = false
            seed = 7
            """)
        let fromFile = DDPProcess.temporaryFolder("study-file"), fromFlags = DDPProcess.temporaryFolder("study-flags")
        let repeated = DDPProcess.temporaryFolder("study-repeat")
        // --seed on the command line overrides the file's 7.
        let file = try DDPProcess.run(["train", "--config", study, "--seed", "9", "--run-dir", fromFile], ranks: 2)
        XCTAssertEqual(file.status, 0, file.all)
        let flags = try DDPProcess.run(["train", "--data", "synthetic", "--steps", "12", "--hidden", "64,32", "--lr", "0.0123456789123",
                                        "--lr-scaling", "sqrt", "--nesterov", "--no-noise-scale", "--seed", "9", "--run-dir", fromFlags], ranks: 2)
        XCTAssertEqual(flags.status, 0, flags.all)
        XCTAssertEqual(try checksum(fromFile), try checksum(fromFlags), "the file gives the same run as its flags")
        let config = try DDPProcess.json(fromFile + "/config.json")
        XCTAssertEqual((config["config"] as? [String: Any]).flatMap { ($0["settings"] as? [String: Any])?["seed"] as? Int }, 9)

        let toml = try String(contentsOfFile: fromFile + "/config.toml", encoding: .utf8)
        XCTAssertTrue(toml.contains("seed = 9") && toml.contains("noise-scale = false") && !toml.contains("\nrun-dir"), toml)
        let again = try DDPProcess.run(["train", "--config", fromFile + "/config.toml", "--run-dir", repeated], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(try checksum(repeated), try checksum(fromFile), "config.toml repeats the run bit for bit")
        XCTAssertEqual(try String(contentsOfFile: repeated + "/config.toml", encoding: .utf8), toml)
    }

    /// Every point of `sweep` repeated as `ddp train --config POINT/config.toml`: the same parameters.
    func assertPointsRepeat(_ sweep: String, expected: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let points = try FileManager.default.contentsOfDirectory(atPath: sweep).filter { $0.hasPrefix("b0") }.sorted()
        XCTAssertEqual(points.count, expected, "\(points)", file: file, line: line)
        for point in points {
            let run = sweep + "/" + point, repeated = DDPProcess.temporaryFolder("study-point")
            let again = try DDPProcess.run(["train", "--config", run + "/config.toml", "--run-dir", repeated], ranks: 2)
            XCTAssertEqual(again.status, 0, "\(point): \(again.all)", file: file, line: line)
            XCTAssertNotNil(try checksum(run), point, file: file, line: line)
            XCTAssertEqual(try checksum(repeated), try checksum(run), "\(point) repeated from its config.toml", file: file, line: line)
            XCTAssertEqual(try DDPProcess.json(repeated + "/summary.json")["steps"] as? Int,
                           try DDPProcess.json(run + "/summary.json")["steps"] as? Int, point, file: file, line: line)
            // Every setting as config.json records it, but the run folder: config.toml is the point's TrainConfig.
            func settings(_ folder: String) throws -> NSDictionary? {
                var s = (try DDPProcess.json(folder + "/config.json")["config"] as? [String: Any])?["settings"] as? [String: Any]
                s?["run_dir"] = nil
                return s.map { $0 as NSDictionary }
            }
            XCTAssertEqual(try settings(repeated), try settings(run), point, file: file, line: line)
        }
    }

    func testEverySweepPointRepeatsFromItsConfigToml() throws {
        // One point per kind of rule: SGD, LARS, LAMB, ghost batches (a BatchNorm model), local SGD
        // and regime adaptation (reference batch 1024: 4 steps where the epoch budget gives 8).
        let rulesStudy = try write("""
            data = "synthetic"
            model = "fc32-bn-relu-fc10"
            global-batch = [512]
            batch-per-rank = 256
            reference-batch = 1024
            rules = "none,lars+sqrt+warmup,lamb,sqrt+gb16,sqrt+local2,sqrt+regime"
            budget = "epochs:1"
            warmup-epochs = 0.5
            momentum = 0.5
            trust-coefficient = 0.002
            """)
        let rules = DDPProcess.temporaryFolder("study-sweep-rules")
        let outcome = try DDPProcess.run(["sweep", "--config", rulesStudy, "--out", rules], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let lamb = try String(contentsOfFile: rules + "/b00512-lamb+sqrt+warmup-s1/config.toml", encoding: .utf8)
        XCTAssertTrue(lamb.contains("optimizer = \"lamb\"") && lamb.contains("lr = 0.01") && lamb.contains("target = \"none\""), lamb)
        // The sweep's momentum and trust coefficient, which LAMB does not use, are at their defaults in
        // its point's study file (train refuses them with lamb as ignored); LARS's point keeps both.
        XCTAssertTrue(lamb.contains("\nmomentum = 0.9\n") && lamb.contains("\ntrust-coefficient = 0.001\n"), lamb)
        let lars = try String(contentsOfFile: rules + "/b00512-lars+sqrt+warmup-s1/config.toml", encoding: .utf8)
        XCTAssertTrue(lars.contains("\nmomentum = 0.5\n") && lars.contains("\ntrust-coefficient = 0.002\n"), lars)
        let regime = try String(contentsOfFile: rules + "/b00512-sqrt+regime-s1/config.toml", encoding: .utf8)
        XCTAssertTrue(regime.contains("budget = \"regime:1\""), regime)
        try assertPointsRepeat(rules, expected: 6)

        // A plateau budget, a list of ghost batches (an axis) and two seeds, one point resumed: it runs again
        // in `--resume` and writes its config.toml there too.
        let plateauStudy = try write("""
            data = "synthetic"
            model = "fc32-bn-relu-fc10"
            global-batch = [1024]
            batch-per-rank = 512
            ghost-batch = [8, 16]
            seeds = [1, 2]
            rules = "sqrt"
            budget = "plateau:1:2"
            """)
        let plateau = DDPProcess.temporaryFolder("study-sweep-plateau")
        let first = try DDPProcess.run(["sweep", "--config", plateauStudy, "--out", plateau], ranks: 2)
        XCTAssertEqual(first.status, 0, first.all)
        let cut = "b01024-sqrt+gb16-s1"
        let toml = try String(contentsOfFile: plateau + "/\(cut)/config.toml", encoding: .utf8)
        XCTAssertTrue(toml.contains("budget = \"plateau:1:2\"") && toml.contains("ghost-batch = 16"), toml)
        let before = try checksum(plateau + "/" + cut)
        try FileManager.default.removeItem(atPath: plateau + "/" + cut)
        let results = try String(contentsOfFile: plateau + "/results.csv", encoding: .utf8)
        try results.split(separator: "\n").filter { !$0.hasPrefix(cut) }.map { $0 + "\n" }.joined()
            .write(toFile: plateau + "/results.csv", atomically: true, encoding: .utf8)
        // --lamb-lr with the sweep's own value is no contradiction (SettingsTable and the sweep's flags name its field).
        let resumed = try DDPProcess.run(["sweep", "--resume", plateau, "--lamb-lr", "0.01"], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertEqual(try String(contentsOfFile: plateau + "/\(cut)/config.toml", encoding: .utf8), toml)
        XCTAssertEqual(try checksum(plateau + "/" + cut), before)
        // Seed 2's points train on the sweep's one data set, made from seed 1: data-seed = 1.
        try assertPointsRepeat(plateau, expected: 4)
    }

    func testEveryTrainFlagIsWrittenToConfigTomlOrIsLaunchOnly() throws {
        let dump = try DDPProcess.run(["train", "--experimental-dump-help"])
        XCTAssertEqual(dump.status, 0, dump.all)
        let json = try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any]
        let arguments = (json?["command"] as? [String: Any])?["arguments"] as? [[String: Any]] ?? []
        let flags = Set(arguments.flatMap { ($0["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" }
            .compactMap { $0["name"] as? String } }).filter { !$0.hasPrefix("no-") && $0 != "help" && $0 != "version" }
        XCTAssertTrue(flags.contains("lr") && flags.contains("nesterov"), "\(flags)")
        let run = DDPProcess.temporaryFolder("study-every-flag")
        let outcome = try DDPProcess.run(["train", "--data", "synthetic", "--model", "fc16-bn-relu-fc10", "--steps", "1", "--run-dir", run])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let toml = try String(contentsOfFile: run + "/config.toml", encoding: .utf8)
        let keys = Set(toml.split(separator: "\n").compactMap { line -> String? in
            let text = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
            guard let end = text.firstIndex(where: { $0 == " " || $0 == ":" }) else { return nil }
            return String(text[..<end])
        })
        let launchOnly: Set<String> = ["config", "run-dir", "resume", "auto-resume", "blas-threads", "collective-timeout", "progress"]
        XCTAssertEqual(flags.subtracting(keys).subtracting(launchOnly), [], "flags config.toml does not name")
        XCTAssertTrue(toml.contains("# hidden: only --model mlp") && toml.contains("# steps: in budget") && toml.contains("budget = \"steps:1\""), toml)
    }

    func testABrokenStudyFileIsOneErrorNamingFileAndLine() throws {
        let study = try write("data = \"synthetic\"\nlr = \nsteps = 3\n")
        let run = DDPProcess.temporaryFolder("study-bad")
        let outcome = try DDPProcess.run(["train", "--config", study, "--run-dir", run], ranks: 2)
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
        XCTAssertTrue(outcome.errorLines.first?.contains("--config \(study):") == true && outcome.all.contains("line 2"), outcome.all)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run))
    }
    func testFalseForAFlagWithoutANoFormLeavesItOut() throws {
        // nesterov and decay-all have no --no- form (false is their default); noise-scale has one.
        let study = try write("data = \"synthetic\"\nsteps = 2\nnesterov = false\ndecay-all = false\nnoise-scale = false\n")
        let run = DDPProcess.temporaryFolder("study-false")
        let outcome = try DDPProcess.run(["train", "--config", study, "--run-dir", run])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        let settings = try DDPProcess.json(run + "/config.json")["config"] as? [String: Any]
        let resolved = settings?["settings"] as? [String: Any]
        XCTAssertEqual((resolved?["optim"] as? [String: Any])?["nesterov"] as? Bool, false)
        XCTAssertEqual((resolved?["optim"] as? [String: Any])?["decay_all"] as? Bool, false)
        XCTAssertEqual(resolved?["noise_scale"] as? Bool, false)
    }

    /// A value of the wrong kind names the key: `lr = false` used to drop lr silently (the default
    /// trained), a value for a switch was "Unexpected argument", and a negative number, read as a
    /// flag, was "Missing value".
    func testAValueOfTheWrongKindNamesTheKey() throws {
        for (line, message) in [("lr = false", "key 'lr' takes a value (--lr VALUE), not true or false"),
                                ("nesterov = \"yes\"", "key 'nesterov' is a switch: true or false, not \"yes\""),
                                ("lr = -0.1", "key 'lr': --lr must be positive (got -0.1)")] {
            let study = try write("data = \"synthetic\"\nsteps = 2\n\(line)\n")
            let run = DDPProcess.temporaryFolder("study-kind")
            let outcome = try DDPProcess.run(["train", "--config", study, "--run-dir", run], ranks: 2)
            XCTAssertEqual(outcome.status, 64, outcome.all)
            XCTAssertEqual(outcome.errorLines, ["Error: --config \(study): \(message)"], outcome.all)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run))
        }
    }

    /// `sweep --resume` reads a study file's keys as the flags they are, as `train --resume` does:
    /// the sweep's own file passes and one that changes a key is refused naming it (both used to be
    /// refused as "--config differs from the sweep").
    func testSweepResumeReadsTheStudyFilesKeys() throws {
        let grid = "data = \"synthetic\"\nglobal-batch = [64, 128]\nrules = \"none\"\nbudget = \"steps:3\"\n"
        let (study, other) = (try write(grid + "lr = 0.02\n"), try write(grid + "lr = 0.05\n"))
        let sweep = DDPProcess.temporaryFolder("study-sweep-resume")
        XCTAssertEqual(try DDPProcess.run(["sweep", "--config", study, "--out", sweep], ranks: 2).status, 0)
        let results = try String(contentsOfFile: sweep + "/results.csv", encoding: .utf8)
        let refused = try DDPProcess.run(["sweep", "--config", other, "--resume", sweep], ranks: 2)
        XCTAssertEqual(refused.status, 1, refused.all)
        XCTAssertEqual(refused.errorLines, ["error: --lr differs from the sweep in \(sweep) (its sweep.json holds the grid and settings): "
                                            + "drop it to resume, or start a new sweep with --out"], refused.all)
        let again = try DDPProcess.run(["sweep", "--config", study, "--resume", sweep], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertTrue(again.stdout.contains("(resuming: 2 done, 0 to continue)"), again.stdout)
        XCTAssertEqual(try String(contentsOfFile: sweep + "/results.csv", encoding: .utf8), results, "nothing redone")
    }

    /// A `--steps 0` run's config.toml holds budget = "steps:0", which the budget grammar refused
    /// ("every number >= 1"): the file did not repeat its run.
    func testConfigTomlOfAZeroStepRunRepeatsIt() throws {
        let (run, again) = (DDPProcess.temporaryFolder("study-zero"), DDPProcess.temporaryFolder("study-zero-again"))
        XCTAssertEqual(try DDPProcess.run(["train", "--data", "synthetic", "--steps", "0", "--run-dir", run], ranks: 2).status, 0)
        XCTAssertTrue(try String(contentsOfFile: run + "/config.toml", encoding: .utf8).contains("budget = \"steps:0\"\n"))
        // No step was timed: no rate (it was 0 samples over 1e-9 s, written as measured).
        XCTAssertTrue(try DDPProcess.json(run + "/summary.json")["samples_per_sec"] is NSNull)
        let outcome = try DDPProcess.run(["train", "--config", run + "/config.toml", "--run-dir", again], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertEqual(try DDPProcess.json(again + "/summary.json")["steps"] as? Int, 0)
        XCTAssertEqual(try checksum(again), try checksum(run))
    }

    func testAnErrorFromAStudyFileNamesTheFileAndTheKey() throws {
        // An unknown key, a value that does not parse, a value out of range: each one error line.
        for (line, key) in [("lrr = 0.1", "lrr"), ("lr = \"fast\"", "lr"), ("momentum = 2", "momentum"), ("optimizer = \"rmsprop\"", "optimizer")] {
            let study = try write("data = \"synthetic\"\nsteps = 2\n\(line)\n")
            let outcome = try DDPProcess.run(["train", "--config", study, "--run-dir", DDPProcess.temporaryFolder("study-bad-key")])
            XCTAssertNotEqual(outcome.status, 0, line)
            XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
            XCTAssertTrue(outcome.errorLines.first?.contains("--config \(study): key '\(key)'") == true, "\(line): \(outcome.all)")
        }
        // The same value on the command line is the command line's error, not the file's.
        let study = try write("data = \"synthetic\"\nsteps = 2\n")
        let outcome = try DDPProcess.run(["train", "--config", study, "--momentum", "2"])
        XCTAssertNotEqual(outcome.status, 0)
        XCTAssertFalse(outcome.all.contains("key 'momentum'"), outcome.all)
    }
}
