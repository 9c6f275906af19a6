// CIFAR-10 binary data and --augment through a real mpirun: a tiny generated folder trains the
// CNN with random crops and flips to the same parameters at 1 x 16 and 2 x 8, every rank holding
// the same checksum; config.json names the files read and the (C, H, W) input; a run killed
// mid-epoch resumes bit for bit; bad files and bad --augment text are one error line.
import Foundation
import TestSupport
import XCTest

extension EquivalenceTests {
    func trainCIFAR(_ folder: IDXFolder, ranks: Int, _ arguments: [String]) throws -> (run: Run, config: [String: Any]) {
        let dir = DDPProcess.temporaryFolder("cifar")
        let outcome = try DDPProcess.run(["train", "--data", folder.path, "--model", "cnn", "--steps", "8", "--lr", "0.0002",
                                          "--seed", "3", "--run-dir", dir] + arguments, ranks: ranks)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("data files  data_batch_1.bin, data_batch_2.bin"), outcome.stdout)
        let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/model.safetensors"))
        let steps = try String(contentsOfFile: dir + "/steps.csv", encoding: .utf8).split(separator: "\n")
        let summary = try DDPProcess.json(dir + "/summary.json")
        let run = Run(parameters: try SafetensorsFile.decode(model), summary: summary,
                      firstStepLoss: Double(steps[1].split(separator: ",")[3])!, finalTrainLoss: summary["train_loss"] as! Double)
        return (run, try DDPProcess.json(dir + "/config.json")["config"] as! [String: Any])
    }

    func testAugmentedCNNOnCIFARIsTheSameAt1x16And2x8() throws {
        // 5 batches of 16 records: 80 training samples, 5 steps an epoch, so 8 steps cross into epoch 2.
        let folder = IDXFolder()
        folder.writeCIFAR10(perBatch: 16, test: 16)
        let augment = ["--augment", "crop:4,flip"]
        let (reference, config) = try trainCIFAR(folder, ranks: 1, augment + ["--batch-per-rank", "16"])
        let (twoRanks, _) = try trainCIFAR(folder, ranks: 2, augment + ["--batch-per-rank", "8"])
        let (plain, _) = try trainCIFAR(folder, ranks: 2, ["--batch-per-rank", "8"])

        XCTAssertLessThan(reference.finalTrainLoss, reference.firstStepLoss, "it trained")
        XCTAssertLessThan(relativeDifference(twoRanks.parameters, reference.parameters), 1e-4)
        let checksums = twoRanks.summary["rank_checksums"] as! [String]
        XCTAssertEqual(checksums.count, 2)
        XCTAssertEqual(Set(checksums).count, 1, "both ranks hold the same parameters")
        XCTAssertNotEqual(plain.summary["param_checksum"] as? String, twoRanks.summary["param_checksum"] as? String,
                          "augmentation changed what was trained on")
        XCTAssertEqual(twoRanks.parameters["layers.0.weight"]?.count, 32 * 3 * 9, "the first convolution sees 3 channels")

        XCTAssertEqual(config["input_shape"] as? [Int], [3, 32, 32])
        XCTAssertEqual(config["train_samples"] as? Int, 80)
        XCTAssertEqual((config["data_files"] as? [String])?.map { ($0 as NSString).lastPathComponent },
                       ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"])
        XCTAssertEqual((config["settings"] as? [String: Any])?["augment"] as? String, "crop:4,flip")
    }

    func testAugmentedRunKilledMidEpochResumesBitForBit() throws {
        // 80 samples / (2 x 8) = 5 steps an epoch; rank 1 dies after step 7, the last checkpoint is
        // step 6's (epoch 2, step 1 in it): the draws of epoch 2 must come out the same after resume.
        let folder = IDXFolder()
        folder.writeCIFAR10(perBatch: 16, test: 8)
        let flags = ["train", "--data", folder.path, "--model", "cnn", "--augment", "crop:4,flip", "--steps", "12",
                     "--lr", "0.0002", "--batch-per-rank", "8", "--checkpoint-every", "2"]
        let whole = DDPProcess.temporaryFolder("cifar-whole"), cut = DDPProcess.temporaryFolder("cifar-cut")
        XCTAssertEqual(try DDPProcess.run(flags + ["--run-dir", whole], ranks: 2).status, 0)
        let killed = try DDPProcess.run(flags + ["--run-dir", cut], ranks: 2, environment: ["DDP_FAULT": "kill:7:1"])
        XCTAssertNotEqual(killed.status, 0)
        let resumed = try DDPProcess.run(["train", "--resume", cut], ranks: 2)
        XCTAssertEqual(resumed.status, 0, resumed.all)
        XCTAssertTrue(resumed.stdout.contains("at epoch 2, step 6"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("augment     crop:4,flip"), "the checkpoint's settings keep --augment")
        XCTAssertEqual(try DDPProcess.json(cut + "/summary.json")["param_checksum"] as? String,
                       try DDPProcess.json(whole + "/summary.json")["param_checksum"] as? String)
    }

    func testBadCIFARFilesAndBadAugmentTextAreOneErrorLine() throws {
        let ragged = IDXFolder()
        ragged.writeCIFAR10(perBatch: 2, test: 2)
        ragged.write("data_batch_4.bin", IDXFolder.cifarRecords(count: 2, seed: 1) + [0, 0, 0])
        let missing = IDXFolder()
        missing.writeCIFAR10(perBatch: 2, test: 2)
        try FileManager.default.removeItem(atPath: missing.file("data_batch_2.bin"))
        let cases: [([String], String, Int32?)] = [
            (["--data", ragged.path], "data_batch_4.bin holds 6149 bytes, not a whole number of 3073-byte CIFAR-10 records", nil),
            (["--data", missing.path], "data folder \(missing.path) has no data_batch_2.bin", nil),
            (["--data", "synthetic", "--augment", "crop:4,spin"], "cannot read 'spin'; expected crop:P", 64),
            (["--data", "synthetic", "--augment", "crop:40"], "--augment crop:40: padding 40 is larger than the 28 x 28 images", nil),
        ]
        for (arguments, message, status) in cases {
            let outcome = try DDPProcess.run(["train", "--run-dir", DDPProcess.temporaryFolder("bad")] + arguments, ranks: 2)
            XCTAssertNotEqual(outcome.status, 0, outcome.all)
            if let status { XCTAssertEqual(outcome.status, status, outcome.all) }
            XCTAssertEqual(outcome.errorLines.count, 1, outcome.all)
            XCTAssertTrue(outcome.errorLines.first?.contains(message) ?? false, outcome.all)
        }
    }
}
