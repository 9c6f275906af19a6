// Which data files a run read (issue 14, item 11): with X and X.gz both present the .gz is read,
// and the resolved configuration printed at start and config.json both say so; a CIFAR-10 folder
// names the data-like files beside its six (a data_batch_6.bin) as not read.
import Foundation
import TestSupport
import XCTest

final class DataFilesTests: XCTestCase {
    func testTheFileReadIsNamedWhenXAndXgzBothExist() throws {
        let folder = IDXFolder()
        folder.writeDataset(train: 16, test: 4, gzipped: true)
        folder.writeDataset(train: 16, test: 4)  // the raw twins beside the .gz files
        try FileManager.default.removeItem(atPath: folder.file("train-labels-idx1-ubyte"))
        let dir = DDPProcess.temporaryFolder("files")
        let outcome = try DDPProcess.run(["train", "--data", folder.path, "--steps", "1", "--batch-per-rank", "8", "--run-dir", dir])
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("""
              data files  train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz \
            (present, not read: train-images-idx3-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte)
            """), outcome.stdout)
        let config = try DDPProcess.json(dir + "/config.json")["config"] as! [String: Any]
        XCTAssertEqual(config["data_files"] as? [String], ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"].map(folder.file))
        XCTAssertEqual(config["data_files_not_read"] as? [String],
                       ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"].map(folder.file))
        XCTAssertEqual(config["input_shape"] as? [Int], [1, 4, 4])
    }

    func testACIFARFolderNamesTheBatchesItDoesNotRead() throws {
        // A sixth batch beside the five is not part of the format: the run trains on the five and says
        // so, rather than leave the user thinking 12 samples were read.
        let folder = IDXFolder()
        folder.writeCIFAR10(perBatch: 2, test: 2)
        folder.write("data_batch_6.bin", IDXFolder.cifarRecords(count: 2, seed: 4))
        let dir = DDPProcess.temporaryFolder("files")
        let outcome = try DDPProcess.run(["train", "--data", folder.path, "--model", "mlp", "--hidden", "4", "--steps", "1",
                                          "--batch-per-rank", "2", "--run-dir", dir], ranks: 2)
        XCTAssertEqual(outcome.status, 0, outcome.all)
        XCTAssertTrue(outcome.stdout.contains("data_batch_5.bin, test_batch.bin (present, not read: data_batch_6.bin)"), outcome.stdout)
        let config = try DDPProcess.json(dir + "/config.json")["config"] as! [String: Any]
        XCTAssertEqual(config["train_samples"] as? Int, 10)
        XCTAssertEqual(config["data_files_not_read"] as? [String], [folder.file("data_batch_6.bin")])
    }
}
