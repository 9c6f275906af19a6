// The page for one `ddp train` run folder: the summary, accuracy and loss curves, the learning
// rate as run, the gradient noise scale, per-rank timing and the configuration.
import Foundation

enum RunReport {
    static func html(_ run: RunData) -> String {
        let name = (run.path as NSString).lastPathComponent
        let rule = run.rule ?? "this run"
        let one = [CurveRun(name: name, rule: rule, colour: Palette.colour(rule), data: run)]
        var page = HTMLPage(title: "Training run: \(name)")
        page.subtitle = header(run)

        page.sections.append(HTMLPage.section("Curves", id: "curves", lead: "Measured on the whole training and test sets at each evaluation.", [HTMLPage.row([
            HTMLPage.figure(Figures.accuracyCurves(one, id: "run-accuracy", title: "Accuracy during training", small: false),
                            caption: "Where solid (test) and dashed (train) accuracy part, the model has started to fit the training set better than it generalizes.",
                            missing: "No metrics.csv in the run folder."),
            HTMLPage.figure(Figures.lossCurves(one, id: "run-loss", title: "Loss during training", small: false),
                            caption: "Test loss turning up while train loss falls is overfitting, seen earlier than in accuracy.",
                            missing: "No metrics.csv in the run folder."),
        ])]))

        var perStep = [HTMLPage.figure(Figures.perStep(one, column: "lr", id: "run-lr", title: "Learning rate as run", yLabel: "learning rate", small: false),
                                       caption: "The rate of every optimizer step (at most 500 shown): check the scaled peak, the warmup ramp and the decay.",
                                       missing: "No steps.csv in the run folder.")]
        let gns = Figures.perStep(one, column: "gns", id: "run-gns", title: "Gradient noise scale", yLabel: "B_simple (samples)", small: false)
        perStep.append(HTMLPage.figure(gns,
                                       caption: "A batch well below B_simple scales almost perfectly; one above it wastes samples (McCandlish et al. 2018).",
                                       missing: "No gradient noise scale in steps.csv (the gns column is empty or absent)."))
        page.sections.append(HTMLPage.section("Schedule and noise scale", id: "schedule", [HTMLPage.row(perStep)]))

        let timings = run.rankTimings
        page.sections.append(HTMLPage.section("Per-rank timing", id: "timing",
            lead: "Compute is data + forward + backward + optimizer; allreduce is the exposed communication, what the step waited for after backward; "
                + RankTiming.waitDefinition + "; evaluation is left out." + hiddenCommunication(run, timings)
                + (run.timingScope.isEmpty ? "" : " This run's " + Format.escape(run.timingScope) + "."),
            [HTMLPage.figure(Figures.timing([(label: "global batch " + (run.summary?["global_batch"]?.display ?? "?"), ranks: timings)],
                                            id: "run-timing", title: "Per-rank time: compute, allreduce, wait", xLabel: "rank"),
                             caption: "A rank with a tall wait bar sat in allreduce for the rank marked ▼, which had the most compute.",
                             missing: "No timing.csv in the run folder."),
             timings.isEmpty ? "" : HTMLPage.table(header: ["rank", "host", "compute s", "allreduce s", "wait s", "evaluation s"], rows: timings.map {
                 [String($0.rank), $0.host, Format.number($0.compute), Format.number($0.allreduce), $0.wait.map(Format.number) ?? "–", Format.number($0.evaluation)]
             })]))

        page.sections.append(HTMLPage.section("Configuration", id: "config", [
            run.configText.map { HTMLPage.details("config.json", text: $0) } ?? HTMLPage.note("No config.json in the run folder."),
            run.summary.map { summary in
                HTMLPage.details("summary.json (all keys)", text: summary.keys.map { "\($0): \(summary[$0]!.display)" }.joined(separator: "\n"))
            } ?? "",
        ]))
        return page.html
    }

    /// With --overlap, how much of rank 0's communication ran behind backward (summary.json's communication_seconds).
    static func hiddenCommunication(_ run: RunData, _ timings: [RankTiming]) -> String {
        guard let busy = run.summary?["communication_seconds"]?.number, busy > 0, let exposed = timings.first(where: { $0.rank == 0 })?.allreduce else { return "" }
        return " With --overlap, rank 0's communication thread spent \(Format.number(busy)) s in allreduces, \(Format.number(exposed)) s of it exposed: "
            + "\(Format.number(100 * max(0, 1 - exposed / busy))) % ran hidden behind backward and the next batch's assembly."
    }

    /// The headline numbers first, in a fixed order, from summary.json.
    static let headline: [(key: String, label: String)] = [
        ("rule", "rule"), ("optimizer", "optimizer"), ("global_batch", "global batch"), ("ranks", "ranks"),
        ("batch_per_rank", "batch per rank"), ("accumulate", "accumulation"), ("peak_lr", "peak lr"), ("epochs", "epochs"),
        ("steps", "steps"), ("test_acc", "test accuracy"), ("best_test_acc", "best test accuracy"), ("train_acc", "train accuracy"),
        ("gap", "gap (train − test)"), ("test_loss", "test loss"), ("train_loss", "train loss"), ("diverged", "diverged"),
        ("gns", "gradient noise scale"), ("sharpness", "sharpness"), ("samples_per_sec", "samples/s"), ("wall_seconds", "wall seconds"),
        ("data", "data"), ("blas_core", "BLAS core"),
    ]

    /// The evaluation's values: null in summary.json means the run stopped before evaluating.
    static let measured: Set<String> = ["test_acc", "best_test_acc", "train_acc", "gap", "test_loss", "train_loss"]

    static func header(_ run: RunData) -> String {
        var text = "<p class=\"lead\">\(Format.escape(run.path))</p>\n"
        if let summary = run.summary {
            let pairs = headline.compactMap { item -> (String, String)? in
                guard let value = summary[item.key] else { return nil }
                // summary.json writes null for what the run never evaluated; other nulls were not asked for.
                if value == .null { return measured.contains(item.key) ? (item.label, "not measured") : nil }
                return (item.label, value.display)
            }
            text += HTMLPage.summary(pairs)
            if run.diverged { text += "\n" + HTMLPage.note("This run diverged.") }
        } else if !run.problems.contains(where: { $0.hasPrefix("summary.json:") }) {
            // One that is there but unreadable is named below, not called missing.
            text += HTMLPage.note("No summary.json: the run did not finish; showing what the folder holds.")
        }
        if !run.problems.isEmpty { text += "\n" + HTMLPage.note("Unreadable files: " + run.problems.joined(separator: "; ")) }
        return text
    }
}
