// A communicator of one rank: `ddp train` without mpirun, and unit tests.
import Foundation

public final class LocalCommunicator: Communicator {
    public let rank = 0
    public let size = 1
    public let hostName: String
    public let allowsCollectivesOffMainThread = true

    public init() {
        hostName = ProcessInfo.processInfo.hostName
    }

    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) {}
    public func allreduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) {}
    public func allreduceMin(_ buffer: UnsafeMutableBufferPointer<Int32>) {}
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {}
    public func allgather(bytes local: [UInt8]) -> [[UInt8]] { [local] }
    public func barrier() {}
    public func setContext(_ phase: StaticString, step: Int) {}
    public func abort(code: Int32) -> Never { exit(code) }
    public func finalize() {}
}
