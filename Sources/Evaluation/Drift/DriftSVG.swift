import Foundation

extension DriftReport {
    /// Per-frame plot: IoU panel (box, polygon, mask vs the reference, 0..1) above a centre-error panel (px), x = tracked
    /// frame index across all sequences, sequence boundaries as labelled dashed lines, disagreeing frames shaded red.
    public func svg() -> String {
        DriftPlot(frames: frames).render()
    }
}

/// Layout and drawing of `DriftReport.svg()`.
struct DriftPlot {
    let frames: [FrameDrift]

    static let width = 1000.0, height = 660.0
    static let left = 70.0, right = 20.0
    static let iouTop = 70.0, iouHeight = 290.0
    static let errorTop = 400.0, errorHeight = 190.0
    var plotWidth: Double { Self.width - Self.left - Self.right }

    struct Series: Sendable {
        let id: String; let label: String; let color: String; let value: @Sendable (FrameDrift) -> Double
    }
    static let iouSeries = [
        Series(id: "series-box-iou", label: "box IoU", color: "#1f77b4", value: { $0.boxIoU }),
        Series(id: "series-polygon-iou", label: "polygon IoU", color: "#2ca02c", value: { $0.polygonIoU }),
        Series(id: "series-mask-iou", label: "mask IoU", color: "#ff7f0e", value: { $0.maskIoU }),
    ]
    static let errorSeries = Series(
        id: "series-center-error", label: "centre error (px)", color: "#9467bd",
        value: { $0.centerErrorPx })
    static let disagreeColor = "#d62728"

    func x(_ i: Int) -> Double {
        frames.count <= 1 ? Self.left + plotWidth / 2 : Self.left + Double(i) / Double(frames.count - 1) * plotWidth
    }
    /// Half the spacing between frames: the width a frame's band covers on each side.
    var halfStep: Double { frames.count <= 1 ? plotWidth / 2 : plotWidth / Double(frames.count - 1) / 2 }

    func render() -> String {
        var s = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" \
            viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" font-family="sans-serif" font-size="12">
            <rect x="0" y="0" width="\(Int(Self.width))" height="\(Int(Self.height))" fill="white"/>
            <text x="\(n(Self.width / 2))" y="22" text-anchor="middle" font-size="16">Per-frame drift: candidate vs reference</text>

            """
        let errorMax = max(1, frames.map(\.centerErrorPx).filter(\.isFinite).max() ?? 0)
        let errorTicks = Self.niceTicks(upTo: errorMax, count: 4)
        let errorTop = errorTicks.last ?? 1
        s += disagreementBands()
        s += axes(
            top: Self.iouTop, height: Self.iouHeight, ticks: stride(from: 0.0, through: 1.0, by: 0.2).map { $0 },
            maxValue: 1, label: "IoU with the reference", decimals: 1)
        s += axes(
            top: Self.errorTop, height: Self.errorHeight, ticks: errorTicks, maxValue: errorTop,
            label: "centre error (px)", decimals: errorTop < 5 ? 1 : 0)
        s += xAxis()
        s += sequenceBoundaries()
        if frames.isEmpty {
            s +=
                "<text x=\"\(n(Self.left + plotWidth / 2))\" y=\"\(n(Self.iouTop + Self.iouHeight / 2))\" text-anchor=\"middle\" fill=\"#666\">no tracked frames</text>\n"
        } else {
            for series in Self.iouSeries {
                s += path(series, top: Self.iouTop, height: Self.iouHeight, maxValue: 1)
            }
            s += path(Self.errorSeries, top: Self.errorTop, height: Self.errorHeight, maxValue: errorTop)
        }
        s += legend()
        s += "</svg>\n"
        return s
    }

    func y(_ v: Double, top: Double, height: Double, maxValue: Double) -> Double {
        let clamped = v.isFinite ? min(max(v, 0), maxValue) : maxValue
        return top + height - clamped / maxValue * height
    }

    /// One path per series; each sequence starts a new sub-path so lines do not join across sequences.
    func path(_ series: Series, top: Double, height: Double, maxValue: Double) -> String {
        var d = ""
        for (i, f) in frames.enumerated() {
            let newSequence = i == 0 || frames[i - 1].sequence != f.sequence
            d +=
                "\(newSequence ? "M" : "L")\(n(x(i))),\(n(y(series.value(f), top: top, height: height, maxValue: maxValue))) "
        }
        return
            "<path id=\"\(series.id)\" d=\"\(d.trimmingCharacters(in: .whitespaces))\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.5\" stroke-linejoin=\"round\"><title>\(driftXMLEscape(series.label))</title></path>\n"
    }

    /// Runs of consecutive disagreeing frames as one red band through both panels.
    func disagreementBands() -> String {
        var s = "<g id=\"disagreements\" fill=\"\(Self.disagreeColor)\" fill-opacity=\"0.18\">\n"
        var i = 0
        while i < frames.count {
            guard frames[i].disagree else { i += 1; continue }
            var j = i
            while j + 1 < frames.count && frames[j + 1].disagree { j += 1 }
            let x0 = max(Self.left, x(i) - halfStep), x1 = min(Self.left + plotWidth, x(j) + halfStep)
            let w = n(max(1, x1 - x0))
            s += "<rect x=\"\(n(x0))\" y=\"\(n(Self.iouTop))\" width=\"\(w)\" height=\"\(n(Self.iouHeight))\"/>"
            s += "<rect x=\"\(n(x0))\" y=\"\(n(Self.errorTop))\" width=\"\(w)\" height=\"\(n(Self.errorHeight))\"/>\n"
            i = j + 1
        }
        return s + "</g>\n"
    }

    func axes(top: Double, height: Double, ticks: [Double], maxValue: Double, label: String, decimals: Int) -> String {
        let l = Self.left, r = Self.left + plotWidth
        var s =
            "<g class=\"axis\">\n<rect x=\"\(n(l))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(height))\" fill=\"none\" stroke=\"#333\"/>\n"
        for t in ticks {
            let ty = n(y(t, top: top, height: height, maxValue: maxValue))
            s += "<line x1=\"\(n(l))\" y1=\"\(ty)\" x2=\"\(n(r))\" y2=\"\(ty)\" stroke=\"#ddd\"/>"
            s += "<line x1=\"\(n(l - 5))\" y1=\"\(ty)\" x2=\"\(n(l))\" y2=\"\(ty)\" stroke=\"#333\"/>"
            s += "<text x=\"\(n(l - 8))\" y=\"\(ty)\" dy=\"4\" text-anchor=\"end\">\(driftFixed(t, decimals))</text>\n"
        }
        let cy = n(top + height / 2)
        s +=
            "<text x=\"18\" y=\"\(cy)\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(cy))\">\(driftXMLEscape(label))</text>\n</g>\n"
        return s
    }

    func xAxis() -> String {
        let bottom = Self.errorTop + Self.errorHeight
        var s = "<g class=\"x-axis\">\n"
        if !frames.isEmpty {
            for t in Self.niceTicks(upTo: Double(max(frames.count - 1, 1)), count: 10)
            where t <= Double(frames.count - 1) && t == t.rounded() {
                let tx = n(x(Int(t)))
                for (top, h) in [(Self.iouTop, Self.iouHeight), (Self.errorTop, Self.errorHeight)] {
                    s +=
                        "<line x1=\"\(tx)\" y1=\"\(n(top + h))\" x2=\"\(tx)\" y2=\"\(n(top + h + 5))\" stroke=\"#333\"/>"
                }
                s += "<text x=\"\(tx)\" y=\"\(n(bottom + 18))\" text-anchor=\"middle\">\(Int(t))</text>\n"
            }
        }
        s +=
            "<text x=\"\(n(Self.left + plotWidth / 2))\" y=\"\(n(bottom + 38))\" text-anchor=\"middle\">tracked frame (all sequences, in order)</text>\n</g>\n"
        return s
    }

    /// A dashed line between sequences and each sequence's name at its start.
    func sequenceBoundaries() -> String {
        var s = "<g id=\"sequences\" font-size=\"11\" fill=\"#333\">\n"
        for (i, f) in frames.enumerated() where i == 0 || frames[i - 1].sequence != f.sequence {
            let bx = i == 0 ? Self.left : x(i) - halfStep
            if i > 0 {
                s +=
                    "<line x1=\"\(n(bx))\" y1=\"\(n(Self.iouTop))\" x2=\"\(n(bx))\" y2=\"\(n(Self.errorTop + Self.errorHeight))\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
            }
            // In the gap between the panels, where no data is drawn.
            s +=
                "<text x=\"\(n(bx + 4))\" y=\"\(n(Self.iouTop + Self.iouHeight + 24))\">\(driftXMLEscape(f.sequence))</text>\n"
        }
        return s + "</g>\n"
    }

    func legend() -> String {
        var s = "<g id=\"legend\">\n"
        var lx = Self.left
        let ly = 48.0
        for series in Self.iouSeries + [Self.errorSeries] {
            s +=
                "<line x1=\"\(n(lx))\" y1=\"\(n(ly))\" x2=\"\(n(lx + 22))\" y2=\"\(n(ly))\" stroke=\"\(series.color)\" stroke-width=\"2.5\"/>"
            s += "<text x=\"\(n(lx + 27))\" y=\"\(n(ly + 4))\">\(driftXMLEscape(series.label))</text>\n"
            lx += 40 + Double(series.label.count) * 7
        }
        s +=
            "<rect x=\"\(n(lx))\" y=\"\(n(ly - 6))\" width=\"22\" height=\"12\" fill=\"\(Self.disagreeColor)\" fill-opacity=\"0.18\"/>"
        s +=
            "<text x=\"\(n(lx + 27))\" y=\"\(n(ly + 4))\">trackers disagree (box IoU &lt; \(FrameDrift.disagreementBoxIoU))</text>\n"
        return s + "</g>\n"
    }

    /// Ticks at 1, 2 or 5 times a power of ten, from 0 to the first tick at or above `upTo`.
    static func niceTicks(upTo maxValue: Double, count: Int) -> [Double] {
        guard maxValue > 0, maxValue.isFinite else { return [0, 1] }
        let raw = maxValue / Double(max(count, 1))
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        var ticks: [Double] = []
        var t = 0.0
        while true {
            ticks.append(t)
            if t >= maxValue - 1e-9 * step { break }
            t += step
        }
        return ticks
    }

    func n(_ v: Double) -> String { driftFixed(v, 1) }
}

/// Text safe inside an XML element or a double-quoted attribute.
func driftXMLEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.count)
    for ch in s {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default:
            // Control characters other than tab/newline are not allowed in XML 1.0 at all.
            if let a = ch.asciiValue, a < 0x20, a != 0x09, a != 0x0A, a != 0x0D { out += "?" } else { out.append(ch) }
        }
    }
    return out
}
