// `ddp report DIR`: one self-contained HTML page for a sweep folder or a run folder. Reads
// files only: it never starts MPI, so it runs without mpirun.
import ArgumentParser
import Foundation
import Report

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one HTML page (inline SVG charts, no scripts) for a sweep folder or a `ddp train` run folder.",
        discussion: """
        A sweep folder holds results.csv and one run folder per row; a run folder holds summary.json, metrics.csv, \
        steps.csv, timing.csv and config.json (any may be missing). The page opens from disk in any browser.
        """)

    @Argument(help: "A sweep folder (with results.csv) or a run folder.")
    var directory: String

    @Option(help: "Where to write the page (default DIR/report.html).")
    var output: String?

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    func validate() throws {
        try requirePath(directory, "the folder to report on")
        try requirePath(output, "--output")
    }

    func run() throws {
        do {
            let path = try Report.write(directory: directory, output: output, overwrite: force)
            print("report written to \(path)")
        } catch let error as ReportError {
            writeError(error.message)
            throw ExitCode.failure
        }
    }
}
