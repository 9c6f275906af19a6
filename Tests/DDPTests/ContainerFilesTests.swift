// A cheap guard for the container files, which only a several-minute podman build runs for real
// (docker/podman.sh, docker/README.md): the scripts parse, and every file the Dockerfile, the
// compose file and podman.sh name exists and is not left out of the build context.
import Foundation
import XCTest

final class ContainerFilesTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path)
    }

    func testTheScriptsTheContainersRunParse() throws {
        // podman.sh, and what the image runs: setup.sh in the build, local.sh and hosts.sh as commands.
        for script in ["docker/podman.sh", "launch/setup.sh", "launch/local.sh", "launch/hosts.sh"] {
            XCTAssertTrue(exists(script), script)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-n", root.appendingPathComponent(script).path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(process.terminationStatus, 0, "bash -n \(script): \(message)")
        }
    }

    func testEveryFileTheContainerFilesNameExistsAndIsInTheBuildContext() throws {
        let dockerfile = try text("docker/Dockerfile")
        let ignored = try text("docker/Dockerfile.dockerignore").split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        func isIgnored(_ path: String) -> Bool {
            ignored.contains { pattern in
                let first = String(path.split(separator: "/").first ?? "")
                return path == pattern || first == pattern || (pattern.hasSuffix("*") && first.hasPrefix(pattern.dropLast()))
            }
        }
        // COPY sources (other than the whole context) and the scripts RUN steps call.
        var named: [String] = []
        for line in dockerfile.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "COPY", words.count >= 3 {
                named += words.dropFirst().dropLast().filter { !$0.hasPrefix("--") && $0 != "." }
            }
            if words.first == "RUN" {
                named += words.filter { $0.hasPrefix("launch/") }
            }
        }
        XCTAssertTrue(named.contains("launch/setup.sh"), "\(named)")
        for path in named {
            XCTAssertTrue(exists(path), "the Dockerfile names \(path), which is missing")
            XCTAssertFalse(isIgnored(path), "the Dockerfile copies \(path), which Dockerfile.dockerignore leaves out")
        }
        XCTAssertFalse(isIgnored("Package.swift") || isIgnored("Sources/ddp/Entry.swift") || isIgnored("launch/local.sh"),
                       "the build context must hold the package")
        XCTAssertTrue(dockerfile.contains("FROM scratch AS swift-tarball"), "the stage podman.sh's --build-context replaces")

        // podman.sh and compose.yml: the files they name.
        let podman = try text("docker/podman.sh"), compose = try text("docker/compose.yml")
        XCTAssertTrue(podman.contains("--build-context swift-tarball="), "podman.sh supplies the toolchain stage")
        let pattern = try NSRegularExpression(pattern: #"(?:docker|launch)/[A-Za-z0-9_.\-/]+"#)
        for source in [podman, compose] {
            let range = NSRange(source.startIndex..., in: source)
            let paths = Set(pattern.matches(in: source, range: range).map { String(source[Range($0.range, in: source)!]) })
            XCTAssertFalse(paths.isEmpty)
            for path in paths {
                XCTAssertTrue(exists(path.trimmingCharacters(in: CharacterSet(charactersIn: ".,)"))), "\(path) is named but missing")
            }
        }
    }
}
