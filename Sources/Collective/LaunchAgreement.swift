// Every rank of a job must run the same build on the same command line: a rank given other flags
// (a hand-edited MPMD line, a wrapper that adds a flag on one host) or another build of ddp (a host
// with a stale clone) trains another run, or issues other collectives and crashes the job with an
// MPI error far from the cause. Checked once, right after MPI starts: each rank's arguments (after
// the program's path) and its executable's GNU build ID (the linker's hash of the binary) are
// gathered; rank 0 names the lowest rank that differs. A binary without a build ID is not compared.
import Foundation

enum LaunchAgreement {
    /// What one rank was started as.
    struct Launch: Equatable {
        var arguments: [String]
        var buildID: String?
        var executable: String

        /// NUL-separated fields: build ID ("" if none), executable, then the arguments.
        var bytes: [UInt8] {
            Array(([buildID ?? "", executable] + arguments).joined(separator: "\u{0}").utf8)
        }

        init(arguments: [String], buildID: String?, executable: String) {
            (self.arguments, self.buildID, self.executable) = (arguments, buildID, executable)
        }

        init(bytes: [UInt8]) {
            let fields = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            buildID = fields[0].isEmpty ? nil : fields[0]
            executable = fields.count > 1 ? fields[1] : ""
            arguments = Array(fields.dropFirst(2))
        }

        /// This process: its arguments after the program path, /proc/self/exe and its build ID.
        static var current: Launch {
            let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first ?? ""
            return Launch(arguments: Array(CommandLine.arguments.dropFirst()), buildID: ELFBuildID.read("/proc/self/exe"), executable: executable)
        }
    }

    /// Every rank's launch, rank order. Collective.
    static func gather(_ comm: Communicator, _ mine: Launch) -> [Launch] {
        var bytes = mine.bytes
        let width = comm.allgather([Double(bytes.count)]).map { Int($0[0]) }
        bytes += [UInt8](repeating: 0, count: width.max()! - bytes.count)
        return zip(comm.allgather(bytes: bytes), width).map { Launch(bytes: Array($0.prefix($1))) }
    }

    /// The message for the lowest rank whose launch differs from rank 0's, or nil when all agree.
    static func disagreement(_ launches: [Launch], hosts: [String]) -> String? {
        let first = launches[0]
        if let rank = launches.indices.first(where: { launches[$0].arguments != first.arguments }) {
            let other = launches[rank].arguments
            let position = zip(other, first.arguments).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(other.count, first.arguments.count)
            let theirs = position < other.count ? "'\(other[position])'" : "nothing"
            let ours = position < first.arguments.count ? "'\(first.arguments[position])'" : "nothing"
            return "rank \(rank) on \(hosts[rank]) was started with other arguments than rank 0: argument \(position + 1) is \(theirs) there "
                + "and \(ours) on rank 0 (rank \(rank): \(other.joined(separator: " ")); rank 0: \(first.arguments.joined(separator: " "))); "
                + "every rank must run the same command"
        }
        if first.buildID != nil, let rank = launches.indices.first(where: { launches[$0].buildID != nil && launches[$0].buildID != first.buildID }) {
            return "rank \(rank) on \(hosts[rank]) runs another build of ddp than rank 0 (\(launches[rank].executable), build ID \(launches[rank].buildID!); "
                + "rank 0: \(first.executable), build ID \(first.buildID!)); build the same commit at the same path on every host"
        }
        return nil
    }

    /// Ends every rank (exit 1, rank 0 saying why) when the ranks were not started alike. Collective.
    static func require(_ comm: Communicator, _ mine: Launch = .current) {
        guard comm.size > 1 else { return }
        let launches = gather(comm, mine)
        let hosts = comm.allgather(comm.hostName)
        guard let problem = disagreement(launches, hosts: hosts) else { return }
        if comm.rank == 0 { FileHandle.standardError.write(Data("error: \(problem)\n".utf8)) }
        comm.finalize()
        exit(1)
    }
}

/// The GNU build ID note of an ELF file (NT_GNU_BUILD_ID in a PT_NOTE segment), as hex.
enum ELFBuildID {
    static func read(_ path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        func bytes(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard (try? file.seek(toOffset: offset)) != nil, let data = try? file.read(upToCount: count), data.count == count else { return nil }
            return [UInt8](data)
        }
        func integer(_ b: [UInt8], _ at: Int, _ size: Int) -> UInt64 {  // little-endian (x86-64, arm64)
            (0..<size).reversed().reduce(0) { $0 << 8 | UInt64(b[at + $1]) }
        }
        // ELF64 header: magic, class 2 (64-bit), data 1 (little-endian); e_phoff at 32, e_phentsize 54, e_phnum 56.
        guard let header = bytes(0, 64), header[0 ..< 4] == [0x7F, 0x45, 0x4C, 0x46], header[4] == 2, header[5] == 1 else { return nil }
        let tableOffset = integer(header, 32, 8), entrySize = Int(integer(header, 54, 2)), entries = Int(integer(header, 56, 2))
        guard entrySize >= 56, entries <= 256 else { return nil }
        for index in 0..<entries {
            // Program header: p_type at 0 (PT_NOTE = 4), p_offset at 8, p_filesz at 32.
            guard let entry = bytes(tableOffset + UInt64(index * entrySize), 56), integer(entry, 0, 4) == 4 else { continue }
            let size = Int(integer(entry, 32, 8))
            guard size <= 1 << 16, let notes = bytes(integer(entry, 8, 8), size) else { continue }
            // Notes: namesz, descsz, type (4 bytes each), name and desc each padded to 4 bytes.
            var at = 0
            while at + 12 <= notes.count {
                let nameSize = Int(integer(notes, at, 4)), descSize = Int(integer(notes, at + 4, 4)), type = integer(notes, at + 8, 4)
                let name = at + 12, desc = name + (nameSize + 3) / 4 * 4
                guard desc + descSize <= notes.count else { break }
                if type == 3, nameSize == 4, notes[name ..< name + 4] == [0x47, 0x4E, 0x55, 0] {  // NT_GNU_BUILD_ID, "GNU\0"
                    return notes[desc ..< desc + descSize].map { String(format: "%02x", $0) }.joined()
                }
                at = desc + (descSize + 3) / 4 * 4
            }
        }
        return nil
    }
}
