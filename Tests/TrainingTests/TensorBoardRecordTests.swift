// The hand-written TensorBoard encoding against references: CRC-32C against RFC 3720's vectors,
// and events and a framed record against the bytes TensorBoard's own protobuf classes and
// masked_crc32c produce for the same values (tensorboard 2.21: event_pb2.Event(...).SerializeToString()).
@testable import Training
import XCTest

final class TensorBoardRecordTests: XCTestCase {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    func testCRC32CMatchesPublishedVectors() {
        // RFC 3720 appendix B.4, and the common "123456789" check value of CRC-32C.
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map(UInt8.init)), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
        // TFRecord's mask of the same check value (tensorboard's masked_crc32c(b"123456789")).
        XCTAssertEqual(CRC32C.masked(Array("123456789".utf8)), 0xC78A_B0E5)
    }

    func testScalarEventMatchesProtobuf() {
        // Event(wall_time=1.5, step=300, summary=Summary(value=[Value(tag='step/loss', simple_value=0.25),
        //       Value(tag='eval/gap', simple_value=-1e-3)]))
        let event = TensorBoardEvent.scalars([("step/loss", 0.25), ("eval/gap", -1e-3)], step: 300, wallTime: 1.5)
        XCTAssertEqual(hex(event), "09000000000000f83f10ac022a230a100a09737465702f6c6f7373150000803e0a0f0a086576616c2f676170156f1283ba")
    }

    func testSessionStartEventMatchesProtobuf() {
        // Event(wall_time=1.5, step=17, session_log=SessionLog(status=SessionLog.START))
        XCTAssertEqual(hex(TensorBoardEvent.sessionStart(step: 17, wallTime: 1.5)), "09000000000000f83f10113a020801")
    }

    func testFileVersionRecordMatchesTFRecord() {
        // Event(wall_time=1700000000.25, file_version='brain.Event:2'), framed as TFRecord.
        var record: [UInt8] = []
        TensorBoardEvent.record(TensorBoardEvent.fileVersion(wallTime: 1_700_000_000.25), into: &record)
        XCTAssertEqual(hex(record), "1800000000000000a37f4b220900001040fc54d9411a0d627261696e2e4576656e743a32338d2fe9")
    }
}
