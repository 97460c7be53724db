import Foundation

extension DriftReport {
    /// How many layers the "worst by SQNR" table lists.
    public static let worstLayerCount = 10

    /// drift.md: verdict, summary, per-sequence and accuracy tables, layer tables, and the embedded plot.
    public func markdown() -> String {
        var md = "# Drift report: candidate vs reference\n\n"
        md += verdict() + "\n\n"
        md +=
            mode == "lockstep"
            ? "Mode: **lockstep** — the candidate tracker restarts from the reference's state before every frame, so each frame measures the networks on the same crop.\n\n"
            : "Mode: **free-running** — each tracker follows its own results from the first frame.\n\n"
        md += table(
            ["", "reference", "candidate"],
            [
                ["model", code(reference.path), code(candidate.path)],
                ["precision", reference.precision, candidate.precision],
                ["int8 layers", "\(reference.int8Layers)", "\(candidate.int8Layers)"],
                ["float32 layers", "\(reference.float32Layers)", "\(candidate.float32Layers)"],
            ])

        md += "\n## Summary\n\nCandidate against reference, over tracked frames (initialisation frames excluded).\n\n"
        let s = summary
        md += table(
            ["metric", "value"],
            [
                ["tracked frames", "\(s.frames)"],
                ["sequences", "\(s.sequences)"],
                ["box IoU mean", driftFixed(s.boxIoUMean, 4)],
                ["box IoU min", driftFixed(s.boxIoUMin, 4)],
                ["polygon IoU mean", driftFixed(s.polygonIoUMean, 4)],
                ["mask IoU mean", driftFixed(s.maskIoUMean, 4)],
                ["mask IoU min", driftFixed(s.maskIoUMin, 4)],
                ["centre error mean (px)", driftFixed(s.centerErrorPxMean, 3)],
                ["centre error max (px)", driftFixed(s.centerErrorPxMax, 3)],
                ["mean abs score difference", driftFixed(s.scoreDiffMeanAbs, 4)],
                ["disagreeing frames (box IoU < \(FrameDrift.disagreementBoxIoU))", "\(s.disagreeingFrames)"],
            ])

        md += "\n## Per sequence\n\n"
        md += table(
            [
                "sequence", "frames", "box IoU mean", "box IoU min", "polygon IoU mean", "mask IoU mean",
                "mask IoU min", "centre err mean (px)", "centre err max (px)", "mean abs score diff", "disagreeing",
            ],
            sequences.map { q in
                let t = q.summary
                return [
                    escape(q.name), "\(t.frames)", driftFixed(t.boxIoUMean, 4), driftFixed(t.boxIoUMin, 4),
                    driftFixed(t.polygonIoUMean, 4), driftFixed(t.maskIoUMean, 4), driftFixed(t.maskIoUMin, 4),
                    driftFixed(t.centerErrorPxMean, 3), driftFixed(t.centerErrorPxMax, 3),
                    driftFixed(t.scoreDiffMeanAbs, 4), "\(t.disagreeingFrames)",
                ]
            })

        if let a = s.accuracy {
            md += "\n## Accuracy against ground truth\n\nEach mean is over the frames that have that annotation.\n\n"
            func row(_ name: String, _ frames: Int, _ r: Double, _ c: Double) -> [String] {
                frames == 0
                    ? [name, "0", "–", "–", "–"]
                    : [name, "\(frames)", driftFixed(r, 4), driftFixed(c, 4), String(format: "%+.4f", c - r)]
            }
            md += table(
                ["metric", "frames", "reference", "candidate", "candidate − reference"],
                [
                    row("box IoU mean", a.framesWithBoxGT, a.reference.boxIoUMean, a.candidate.boxIoUMean),
                    row("mask IoU mean", a.framesWithMaskGT, a.reference.maskIoUMean, a.candidate.maskIoUMean),
                ])
        }

        md += "\n## Layers\n\nActivations of the candidate (dequantised) against the reference on the same inputs; "
        md += "SQNR is capped at \(Int(LayerDrift.sqnrCapDB)) dB (identical outputs).\n\n"
        if layers.isEmpty {
            md += "No layers were compared.\n"
        } else {
            let worst = layers.enumerated().sorted { ($0.element.sqnrDB, $0.offset) < ($1.element.sqnrDB, $1.offset) }
                .prefix(Self.worstLayerCount).map(\.element)
            md += "### Worst \(worst.count) by SQNR\n\n" + layerTable(worst)
            md += "\n### All layers (execution order)\n\n" + layerTable(layers)
            let broken = layers.filter { $0.nonFiniteElements > 0 }
            if !broken.isEmpty {
                // Their statistics leave those values out, so they would otherwise look healthy.
                md += "\nNon-finite values (left out of the statistics): "
                md += broken.map { "\(code($0.name)) (\($0.nonFiniteElements))" }.joined(separator: ", ") + ".\n"
            }
        }

        md += "\n## Per frame\n\n![per-frame drift](\(Self.svgFileName))\n"
        return md
    }

    func verdict() -> String {
        guard let budget else { return "**PASSED** (no budget given)." }
        if budgetViolations.isEmpty { return "**PASSED**: within the budget `\(budget)`." }
        return "**FAILED** against the budget `\(budget)`:\n\n"
            + budgetViolations.map { "- \(escape($0))" }.joined(separator: "\n")
    }

    func layerTable(_ rows: [LayerDrift]) -> String {
        table(
            ["layer", "precision", "output", "cosine", "SQNR (dB)", "max abs err", "rel max err"],
            rows.map { l in
                [
                    code(l.name), l.precision.rawValue, l.final ? "yes" : "",
                    driftFixed(l.cosine, 6),
                    l.sqnrDB >= LayerDrift.sqnrCapDB ? "≥ \(Int(LayerDrift.sqnrCapDB))" : driftFixed(l.sqnrDB, 2),
                    String(format: "%.3e", l.maxAbsError), String(format: "%.3e", l.relativeMaxError),
                ]
            })
    }

    func table(_ header: [String], _ rows: [[String]]) -> String {
        var s = "| " + header.joined(separator: " | ") + " |\n"
        s += "|" + header.map { _ in " --- |" }.joined() + "\n"
        for r in rows { s += "| " + r.joined(separator: " | ") + " |\n" }
        return s
    }

    /// Plain text for a table cell: no pipe, no newline, and no `<`/`&` a renderer would take for HTML.
    func escape(_ s: String) -> String {
        cell(
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;"))
    }

    func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    /// A code span shows entities literally, so only the cell rules apply inside it.
    func code(_ s: String) -> String {
        s.contains("`") ? escape(s) : "`" + cell(s) + "`"
    }
}
