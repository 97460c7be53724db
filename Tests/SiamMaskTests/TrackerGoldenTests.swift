import Evaluation
import Foundation
import Imaging
import Importers
import SiamMask
import TestSupport
import XCTest

/// The Swift tracker against the reference loop (Tools/track_reference.py, goldens written by
/// `Tools/compare_tracker.py --write-goldens`) on the real sequences, with the fixture model. Each frame starts from
/// the reference's previous state, so every frame is compared on equal inputs: float32 noise (about 1e-6 in the
/// scores) otherwise moves the free-running tracks apart by fractions of a pixel until a crop origin rounds the other
/// way, after which the two tracks are no longer comparable frame by frame.
final class TrackerGoldenTests: XCTestCase {
    /// Reference best and second-best pscore this close are a near-tie: either anchor is a faithful answer.
    static let nearTie = 1e-5
    static let polygonPixels = 0.5
    static let maskIoU = 0.99

    static let sequences: [(golden: String, path: String)] = [
        ("tennis", "DAVIS/JPEGImages/480p/tennis"), ("car-shadow", "DAVIS/JPEGImages/480p/car-shadow"),
        ("bag", "VOT/bag"), ("Crossing", "OTB/Crossing"),
    ]

    func decodeRLE(_ runs: [Int], count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var i = 0, value: UInt8 = 0
        for r in runs {
            if value == 1 { for k in i..<min(count, i + r) { out[k] = 1 } }
            i += r
            value ^= 1
        }
        return out
    }

    func testTrackerMatchesTheReferenceLoopOnRealFootage() throws {
        guard let data = TestPaths.sharedData else {
            throw XCTSkip("../shared/data is absent: tracker golden test skipped")
        }
        let network = try SiamMaskNetwork(
            model: ModelConverter.convert([TestPaths.fixture(FixtureFiles.zipWrapped)]).model)
        let goldenDir = TestPaths.packageRoot.appendingPathComponent("Tests/SiamMaskTests/Goldens/tracker")
        var summary: [String] = []
        for (name, path) in Self.sequences {
            let rows = try String(contentsOf: goldenDir.appendingPathComponent("\(name).jsonl"), encoding: .utf8)
                .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            let seq = try SequenceReader.open(data.appendingPathComponent(path))
            let session = try TrackerSession(
                network: network, preset: SequenceTracking.presetName("auto", sequence: seq, network: network))
            let reader = try FrameReader(seq)
            let first = try XCTUnwrap(try reader.next())
            let init0 = rows[0]
            let (cx, cy, w, h) = (
                init0["cx"] as! Double, init0["cy"] as! Double, init0["w"] as! Double, init0["h"] as! Double
            )
            try session.initialize(frame: first, target: .box(x: cx - w / 2, y: cy - h / 2, width: w, height: h))
            var nearTies: [Int] = [], worstPolygon = 0.0, worstIoU = 1.0
            for f in 1..<rows.count {
                guard let frame = try reader.next() else { return XCTFail("\(name): fewer frames than the golden") }
                let prev = rows[f - 1]
                session.setState(
                    center: (prev["cx"] as! Double, prev["cy"] as! Double),
                    size: (prev["w"] as! Double, prev["h"] as! Double))
                let r = try session.track(frame)
                let g = rows[f]
                if r.best != g["best"] as! Int {
                    let gap = (g["best_pscore"] as! Double) - (g["second_pscore"] as! Double)
                    XCTAssertLessThanOrEqual(
                        gap, Self.nearTie, "\(name) frame \(f): best \(r.best) vs reference \(g["best"]!)")
                    nearTies.append(f)
                    continue
                }
                let poly = (g["polygon"] as! [NSNumber]).map(\.doubleValue)
                let ours = r.polygon.flatMap { [$0.x, $0.y] }
                let d = zip(poly, ours).map { abs($0 - $1) }.max() ?? .infinity
                worstPolygon = max(worstPolygon, d)
                XCTAssertLessThanOrEqual(d, Self.polygonPixels, "\(name) frame \(f): polygon")
                let shape = (g["mask_shape"] as! [Int])
                let ref = decodeRLE((g["mask_rle"] as! [NSNumber]).map(\.intValue), count: shape[0] * shape[1])
                let iou = maskIntersectionOverUnion(ref, r.mask)
                worstIoU = min(worstIoU, iou)
                XCTAssertGreaterThanOrEqual(iou, Self.maskIoU, "\(name) frame \(f): mask IoU")
            }
            summary.append(
                "\(name): \(rows.count - 1) frames, near-ties \(nearTies), max polygon error \(worstPolygon) px, min mask IoU \(worstIoU)"
            )
        }
        print("tracker goldens:\n  " + summary.joined(separator: "\n  "))
    }
}
