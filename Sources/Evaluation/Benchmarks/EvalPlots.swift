import Foundation

/// Small deterministic SVG charts for `report.md`: line charts (OTB success / precision curves, VOT EAO curve) and
/// grouped bars (per-sequence scores). Numbers are printed with fixed decimals, so the same data gives the same bytes.
public enum EvalChart {
    public struct Series: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]
        public init(label: String, points: [(x: Double, y: Double)]) { self.label = label; self.points = points }
    }

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"]
    static let width = 760.0, height = 420.0, left = 70.0, right = 20.0, top = 50.0, bottom = 60.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }

    static func n(_ v: Double) -> String { String(format: "%.2f", v) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    static func header(_ title: String, height h: Double = height) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(h))" viewBox="0 0 \(Int(width)) \(Int(h))" \
        font-family="sans-serif" font-size="12">
        <rect x="0" y="0" width="\(Int(width))" height="\(Int(h))" fill="white"/>
        <text x="\(n(width / 2))" y="24" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
    }

    /// Y axis with ticks from 0 to `yMax`, the label rotated beside it; the X axis line.
    static func frame(yMax: Double, yLabel: String, xLabel: String) -> String {
        var s = ""
        for i in 0...5 {
            let v = yMax * Double(i) / 5, y = top + plotHeight - plotHeight * Double(i) / 5
            s +=
                "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(y))\" stroke=\"#e5e5e5\"/>\n"
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(tick(v))</text>\n"
        }
        s +=
            "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight))\" stroke=\"black\"/>\n"
        s +=
            "<line x1=\"\(n(left))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(top + plotHeight))\" stroke=\"black\"/>\n"
        s +=
            "<text x=\"18\" y=\"\(n(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(n(top + plotHeight / 2)))\">\(escape(yLabel))</text>\n"
        s +=
            "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(height - 14))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        return s
    }

    static func tick(_ v: Double) -> String {
        v == v.rounded() && abs(v) >= 1 ? String(Int(v)) : String(format: "%.2f", v)
    }

    static func legend(_ labels: [String]) -> String {
        var s = ""
        for (i, l) in labels.enumerated() {
            let y = top + 14 + Double(i) * 18, x = left + plotWidth - 250
            s +=
                "<rect x=\"\(n(x))\" y=\"\(n(y - 9))\" width=\"14\" height=\"10\" fill=\"\(colours[i % colours.count])\"/>\n"
            s += "<text x=\"\(n(x + 20))\" y=\"\(n(y))\">\(escape(l))</text>\n"
        }
        return s
    }

    /// A line chart over [xMin, xMax] x [0, yMax]; `band` shades an x interval (the VOT length range).
    public static func lines(
        title: String, xLabel: String, yLabel: String, xRange: (Double, Double), yMax: Double,
        series: [Series], band: (Double, Double)? = nil
    ) -> String {
        var s = header(title)
        let span = max(xRange.1 - xRange.0, 1e-9)
        func px(_ x: Double) -> Double { left + (x - xRange.0) / span * plotWidth }
        func py(_ y: Double) -> Double { top + plotHeight - min(max(y, 0), yMax) / yMax * plotHeight }
        if let band {
            let a = px(max(band.0, xRange.0)), b = px(min(band.1, xRange.1))
            s +=
                "<rect x=\"\(n(a))\" y=\"\(n(top))\" width=\"\(n(max(0, b - a)))\" height=\"\(n(plotHeight))\" fill=\"#f2f2f2\"/>\n"
        }
        s += frame(yMax: yMax, yLabel: yLabel, xLabel: xLabel)
        for i in 0...5 {
            let v = xRange.0 + span * Double(i) / 5
            s += "<text x=\"\(n(px(v)))\" y=\"\(n(top + plotHeight + 16))\" text-anchor=\"middle\">\(tick(v))</text>\n"
        }
        for (i, ser) in series.enumerated() where !ser.points.isEmpty {
            let d = ser.points.enumerated().map {
                "\($0.offset == 0 ? "M" : "L")\(n(px($0.element.x))),\(n(py($0.element.y)))"
            }.joined(separator: " ")
            s += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(colours[i % colours.count])\" stroke-width=\"2\"/>\n"
        }
        s += legend(series.map(\.label))
        return s + "</svg>\n"
    }

    /// Grouped bars: one group a category, one bar a series (nil: no bar), over [0, yMax].
    public static func bars(
        title: String, yLabel: String, yMax: Double, categories: [String], series: [(label: String, values: [Double?])]
    ) -> String {
        var s = header(title)
        s += frame(yMax: yMax, yLabel: yLabel, xLabel: "")
        let groups = max(categories.count, 1)
        let groupWidth = plotWidth / Double(groups)
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        for (c, name) in categories.enumerated() {
            let x0 = left + Double(c) * groupWidth + groupWidth * 0.1
            for (k, ser) in series.enumerated() {
                guard c < ser.values.count, let v = ser.values[c], v.isFinite else { continue }
                let h = min(max(v, 0), yMax) / yMax * plotHeight
                s +=
                    "<rect x=\"\(n(x0 + Double(k) * barWidth))\" y=\"\(n(top + plotHeight - h))\" width=\"\(n(barWidth))\" height=\"\(n(h))\" fill=\"\(colours[k % colours.count])\"><title>\(escape(name)) \(escape(ser.label)): \(String(format: "%.4f", v))</title></rect>\n"
            }
            let cx = x0 + groupWidth * 0.4, cy = top + plotHeight + 12
            s +=
                "<text x=\"\(n(cx))\" y=\"\(n(cy))\" text-anchor=\"end\" font-size=\"10\" transform=\"rotate(-35 \(n(cx)) \(n(cy)))\">\(escape(name))</text>\n"
        }
        s += legend(series.map(\.label))
        return s + "</svg>\n"
    }
}

extension EvalReport {
    /// The plots of this report: file name (under `plots/`) -> SVG text.
    public func plots() -> [(name: String, svg: String)] {
        let names = models.map(\.name)
        var out: [(String, String)] = []
        switch dataset.kind {
        case .vot:
            let v = scores.compactMap(\.vot)
            let longest = v.map(\.eaoCurve.count).max() ?? 1
            out.append(
                (
                    "vot-eao.svg",
                    EvalChart.lines(
                        title: "VOT expected average overlap by sequence length", xLabel: "sequence length (frames)",
                        yLabel: "expected average overlap",
                        xRange: (1, Double(max(longest, 2))), yMax: 1,
                        series: zip(names, v).map { name, s in
                            EvalChart.Series(
                                label: "\(name) (EAO \(s.eao.map { String(format: "%.4f", $0) } ?? "n/a"))",
                                points: s.eaoCurve.enumerated().map { (Double($0.offset + 1), $0.element) })
                        },
                        // length_range holds curve indices; index j is length j + 1.
                        band: v.first.flatMap {
                            $0.lengthRange.count == 2
                                ? (Double($0.lengthRange[0] + 1), Double($0.lengthRange[1] + 1)) : nil
                        })
                ))
            let seqs = v.first?.sequences.map(\.name) ?? []
            out.append(
                (
                    "vot-accuracy.svg",
                    EvalChart.bars(
                        title: "VOT accuracy per sequence", yLabel: "accuracy (mean overlap)", yMax: 1,
                        categories: seqs, series: zip(names, v).map { ($0, $1.sequences.map(\.accuracy)) })
                ))
            let maxFailures = Double(v.flatMap(\.sequences).map(\.failures).max() ?? 0)
            out.append(
                (
                    "vot-failures.svg",
                    EvalChart.bars(
                        title: "VOT failures per sequence", yLabel: "failures", yMax: max(5, maxFailures.rounded(.up)),
                        categories: seqs, series: zip(names, v).map { ($0, $1.sequences.map { Double($0.failures) }) })
                ))
        case .otb:
            let o = scores.compactMap(\.otb)
            out.append(
                (
                    "otb-success.svg",
                    EvalChart.lines(
                        title: "OTB success plot (one-pass)", xLabel: "overlap threshold", yLabel: "success rate",
                        xRange: (0, 1), yMax: 1,
                        series: zip(names, o).map { name, s in
                            EvalChart.Series(
                                label: "\(name) (AUC \(String(format: "%.4f", s.auc)))",
                                points: s.successCurve.enumerated().map {
                                    (Double($0.offset) / Double(max(s.successCurve.count - 1, 1)), $0.element)
                                })
                        })
                ))
            out.append(
                (
                    "otb-precision.svg",
                    EvalChart.lines(
                        title: "OTB precision plot (one-pass)", xLabel: "location error threshold (px)",
                        yLabel: "precision", xRange: (0, 50), yMax: 1,
                        series: zip(names, o).map { name, s in
                            EvalChart.Series(
                                label: "\(name) (P@20 \(String(format: "%.4f", s.precision20)))",
                                points: s.precisionCurve.enumerated().map { (Double($0.offset), $0.element) })
                        })
                ))
            out.append(
                (
                    "otb-sequences.svg",
                    EvalChart.bars(
                        title: "OTB success AUC per sequence", yLabel: "success AUC", yMax: 1,
                        categories: o.first?.sequences.map(\.name) ?? [],
                        series: zip(names, o).map { ($0, $1.sequences.map { Optional($0.auc) }) })
                ))
        case .davis:
            let d = scores.compactMap(\.davis)
            out.append(
                (
                    "davis-objects.svg",
                    EvalChart.bars(
                        title: "DAVIS J&F mean per object", yLabel: "(J mean + F mean) / 2", yMax: 1,
                        categories: d.first?.objects.map { "\($0.sequence)/\($0.object)" } ?? [],
                        series: zip(names, d).map { ($0, $1.objects.map { Optional(($0.j.mean + $0.f.mean) / 2) }) })
                ))
        }
        return out
    }

    /// `report.md`: summary, per-sequence rows and the plots.
    public func markdown() -> String {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "n/a" }
        func d(_ v: Double?) -> String { v.map { String(format: "%+.4f", $0) } ?? "n/a" }
        let names = models.map(\.name)
        var s = "# \(dataset.kind.title): \(dataset.name)\n\n"
        s += "\(dataset.sequences.count) sequences, \(dataset.frames) frames per model"
        s += dataset.frameLimit.map { " (at most the first \($0) frames of each sequence)" } ?? ""
        s += ". Protocol: \(dataset.protocolName). Report schema \(schema) v\(version) (`Schemas/eval-report.md`).\n\n"
        s += "| model | file | precision | preset | bytes | CRC-32C |\n|---|---|---|---|---|---|\n"
        for m in models { s += "| \(m.name) | \(m.file) | \(m.precision) | \(m.preset) | \(m.bytes) | \(m.crc32c) |\n" }
        s += "\n## Summary\n\n"
        let summaries = benchmarkScores.map(EvalReport.summaryMetrics)
        let compare = comparison != nil
        s += "| metric | " + names.joined(separator: " | ") + (compare ? " | \(names[1]) − \(names[0]) |" : " |") + "\n"
        s += "|---|" + String(repeating: "---|", count: names.count + (compare ? 1 : 0)) + "\n"
        for (i, metric) in (summaries.first ?? []).enumerated() {
            s += "| \(metric.0) | " + summaries.map { f($0[i].1) }.joined(separator: " | ")
            s += compare ? " | \(d(comparison!.summary[i].difference)) |\n" : " |\n"
        }
        s += "\n## Plots\n\n"
        for p in plots() { s += "![\(p.name)](plots/\(p.name))\n\n" }
        let perSequence = benchmarkScores.map(EvalReport.sequenceMetrics)
        s += dataset.kind == .davis ? "## Per object\n\n" : "## Per sequence\n\n"
        if let first = perSequence.first, let columns = first.first?.1.map(\.0) {
            var header = "| \(dataset.kind == .davis ? "sequence/object" : "sequence") |"
            for c in columns { for n in names { header += " \(c) \(n) |" }; if compare { header += " \(c) Δ |" } }
            s +=
                header + "\n|---|" + String(repeating: "---|", count: columns.count * (names.count + (compare ? 1 : 0)))
                + "\n"
            for (row, entry) in first.enumerated() {
                s += "| \(entry.0) |"
                for (k, _) in columns.enumerated() {
                    for m in perSequence.indices { s += " \(f(perSequence[m][row].1[k].1)) |" }
                    if compare { s += " \(d(comparison!.sequences[row].metrics[k].difference)) |" }
                }
                s += "\n"
            }
        }
        return s
    }
}
