// RunFolder's CSV appends: the header is written once, before the first row, also when the file
// is there but empty (cut before its header was written: a full disk, a killed rank). An empty
// file used to get rows with no header, which every reader then took the first row for.
import Foundation
import TestSupport
import XCTest
@testable import Training

final class RunFolderTests: XCTestCase {
    func testAppendWritesTheHeaderToANewOrEmptyFileOnly() throws {
        let folder = try RunFolder.create(TestScratch.path("run-folder"))
        try folder.append("a.csv", header: "step,x", lines: ["1,2"])
        try folder.append("a.csv", header: "step,x", lines: ["2,3", "3,4"])
        XCTAssertEqual(try String(contentsOfFile: folder.file("a.csv"), encoding: .utf8), "step,x\n1,2\n2,3\n3,4\n")

        FileManager.default.createFile(atPath: folder.file("cut.csv"), contents: Data())
        try folder.append("cut.csv", header: "step,x", lines: ["1,2"])
        XCTAssertEqual(try String(contentsOfFile: folder.file("cut.csv"), encoding: .utf8), "step,x\n1,2\n")
    }
}
