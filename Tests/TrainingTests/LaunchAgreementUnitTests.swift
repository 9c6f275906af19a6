// LaunchAgreement's pieces without MPI: the GNU build ID read from an ELF file, and which rank's
// launch the message names; the data fingerprint `agreed` compares (LaunchAgreementTests runs them through mpirun).
@testable import Collective
@testable import Data
@testable import Training
import Tensor
import Foundation
import XCTest

final class LaunchAgreementUnitTests: XCTestCase {
    func testTheBuildIDIsTheNotesBytesAndFollowsAChangeToThem() throws {
        let own = try XCTUnwrap(ELFBuildID.read("/proc/self/exe"), "this test binary has a GNU build ID")
        XCTAssertEqual(own.count, 40, "SHA-1, 20 bytes as hex: \(own)")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe")))
        let id = stride(from: 0, to: own.count, by: 2).map { UInt8(own[own.index(own.startIndex, offsetBy: $0) ..< own.index(own.startIndex, offsetBy: $0 + 2)], radix: 16)! }
        let at = try XCTUnwrap((0 ... bytes.count - id.count).first { bytes[$0] == id[0] && Array(bytes[$0 ..< $0 + id.count]) == id })
        bytes[at + 19] ^= 0x0F
        let copy = NSTemporaryDirectory() + "build-id-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try Data(bytes).write(to: URL(fileURLWithPath: copy))
        XCTAssertEqual(ELFBuildID.read(copy), String(own.dropLast(2)) + String(format: "%02x", id[19] ^ 0x0F))
        try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: copy))
        XCTAssertNil(ELFBuildID.read(copy), "not ELF: no build ID")
        XCTAssertNil(ELFBuildID.read(copy + "-missing"))
    }

    func testTheLowestDifferingRankIsNamedWithTheFirstDifferingArgument() {
        typealias Launch = LaunchAgreement.Launch
        let hosts = ["a", "b", "c"]
        let same = Launch(arguments: ["train", "--lr", "0.1"], buildID: "aa", executable: "/x/ddp")
        XCTAssertNil(LaunchAgreement.disagreement([same, same, same], hosts: hosts))
        var other = same
        other.arguments[2] = "0.2"
        XCTAssertEqual(LaunchAgreement.disagreement([same, same, other], hosts: hosts),
                       "rank 2 on c was started with other arguments than rank 0: argument 3 is '0.2' there and '0.1' on rank 0 "
                       + "(rank 2: train --lr 0.2; rank 0: train --lr 0.1); every rank must run the same command")
        var longer = same
        longer.arguments.append("--nesterov")
        XCTAssertTrue(LaunchAgreement.disagreement([same, longer, other], hosts: hosts)?
            .hasPrefix("rank 1 on b was started with other arguments than rank 0: argument 4 is '--nesterov' there and nothing on rank 0") ?? false)
        var rebuilt = same
        rebuilt.buildID = "bb"
        XCTAssertEqual(LaunchAgreement.disagreement([same, rebuilt, same], hosts: hosts),
                       "rank 1 on b runs another build of ddp than rank 0 (/x/ddp, build ID bb; rank 0: /x/ddp, build ID aa); "
                       + "build the same commit at the same path on every host")
        var unknown = same
        unknown.buildID = nil
        XCTAssertNil(LaunchAgreement.disagreement([same, unknown, same], hosts: hosts), "a binary without a build ID is not compared")
        // The bytes that travel keep empty arguments and a missing build ID.
        let odd = Launch(arguments: ["train", "", "--run-dir", "a b"], buildID: nil, executable: "/p q/ddp")
        XCTAssertEqual(Launch(bytes: odd.bytes), odd)
    }
}


final class DataAgreementUnitTests: XCTestCase {
    func split(_ pixels: [UInt8], labels: [UInt8]) -> DataSplit {
        let train = Dataset(images: pixels, labels: labels, height: 2, width: 2, classes: 3)
        return DataSplit(name: "t", train: train, test: Dataset(images: [1, 2, 3, 4], labels: [0], height: 2, width: 2, classes: 3))
    }

    /// The fingerprint follows the pixels' statistics and the labels; the message names the lowest
    /// rank that differs from rank 0, with both descriptions.
    func testTheFirstRankWhoseDataDifferIsNamedWithItsCountsAndFingerprint() throws {
        let a = split([0, 10, 20, 30, 40, 50, 60, 70], labels: [0, 1])
        let sameAgain = split([0, 10, 20, 30, 40, 50, 60, 70], labels: [0, 1])
        let otherPixels = split([0, 10, 20, 30, 40, 50, 60, 71], labels: [0, 1])
        let otherLabels = split([0, 10, 20, 30, 40, 50, 60, 70], labels: [0, 2])
        XCTAssertEqual(a.fingerprint.map(\.bitPattern), sameAgain.fingerprint.map(\.bitPattern))
        XCTAssertNotEqual(a.fingerprint.last?.bitPattern, otherPixels.fingerprint.last?.bitPattern)
        XCTAssertNotEqual(a.fingerprint.last?.bitPattern, otherLabels.fingerprint.last?.bitPattern)
        XCTAssertEqual(Array(a.fingerprint.dropLast()), [2, 1, 1, 2, 2, 3])
        let hosts = ["h0", "h1", "h2"]
        XCTAssertNil(sameOnEveryRankProblem([a.fingerprint, sameAgain.fingerprint, a.fingerprint], hosts: hosts, type: DataSplit.self))
        let hex = { (s: DataSplit) in Checksum.hex(s.fingerprint[6].bitPattern) }
        XCTAssertEqual(sameOnEveryRankProblem([a.fingerprint, a.fingerprint, otherLabels.fingerprint], hosts: hosts, type: DataSplit.self),
                       "rank 2 on h2 read other data than rank 0 (2 train and 1 test samples of [1, 2, 2] x 3 classes, fingerprint \(hex(otherLabels)); "
                       + "rank 0: 2 train and 1 test samples of [1, 2, 2] x 3 classes, fingerprint \(hex(a))); "
                       + "every host must hold the same files at the --data path (copy them again, or use a shared folder)")
    }
}
