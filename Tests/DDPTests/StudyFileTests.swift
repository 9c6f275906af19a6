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

    func testSweepPointConfigTomlRepeatsThePointAsATrainRun() throws {
        let study = try write("""
            data = "synthetic"
            global-batch = [64, 256]
            rules = "none,lars+sqrt+warmup"
            budget = "steps:10"
            warmup-epochs = 0.1
            """)
        let sweep = DDPProcess.temporaryFolder("study-sweep"), repeated = DDPProcess.temporaryFolder("study-point")
        let outcome = try DDPProcess.run(["sweep", "--config", study, "--out", sweep], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("4 runs (2 batches x 2 rules x 1 seeds, steps:10)"), outcome.stdout)
        let point = sweep + "/b00256-lars+sqrt+warmup-s1"
        let again = try DDPProcess.run(["train", "--config", point + "/config.toml", "--run-dir", repeated], ranks: 2)
        XCTAssertEqual(again.status, 0, again.all)
        XCTAssertEqual(try checksum(repeated), try checksum(point))
        XCTAssertEqual(try DDPProcess.json(repeated + "/summary.json")["optimizer"] as? String, "lars")
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
}
