import Foundation
import Imaging
import SiamMask
import XCTest
@testable import Evaluation

/// A tracker that follows a script instead of a network: frames carry their index in their first pixel, and the
/// script says what to report on each frame (per object, for DAVIS).
final class ScriptedTracker: BenchmarkTracker {
    var starts: [(frame: Int, target: TrackerInitialization)] = []
    var tracked: [Int] = []
    let script: (Int, Int) -> BenchmarkFrameResult   // (frame, object pass) -> result
    var segmentationThreshold: Double = 0.35

    init(_ script: @escaping (Int, Int) -> BenchmarkFrameResult) { self.script = script }

    func start(frame: Image, target: TrackerInitialization) throws {
        starts.append((Int(frame.pixels[0]), target))
    }

    func next(_ frame: Image) throws -> BenchmarkFrameResult {
        let f = Int(frame.pixels[0])
        tracked.append(f)
        return script(f, starts.count - 1)
    }
}

/// Frames 0..<count of a given size, each filled with its own index; remembers which were decoded.
final class IndexedFrames: RandomAccessFrames {
    let count: Int
    let width: Int, height: Int
    var decoded: [Int] = []

    init(count: Int, width: Int = 100, height: Int = 80) {
        self.count = count
        self.width = width
        self.height = height
    }

    func frame(_ index: Int) throws -> Image {
        decoded.append(index)
        return Image(width: width, height: height, format: .bgr, value: UInt8(index))
    }
}

final class BenchmarkProtocolTests: XCTestCase {
    static let target = Box(x: 10, y: 10, width: 20, height: 20)
    static let onTarget = BenchmarkFrameResult(
        polygon: Box(x: 12, y: 12, width: 20, height: 20).corners, box: Box(x: 12, y: 12, width: 20, height: 20))
    static let lost = BenchmarkFrameResult(
        polygon: Box(x: 70, y: 50, width: 5, height: 5).corners, box: Box(x: 70, y: 50, width: 5, height: 5))

    func codes(_ r: [VOTResultFrame]) -> [String] {
        r.map {
            switch $0 {
            case .initialization: return "1"
            case .failure: return "2"
            case .skipped: return "0"
            case .region: return "r"
            }
        }
    }

    /// The official rule: failure frame 2, four frames 0, re-initialisation five frames after the failure (1), from
    /// that frame's ground truth; skipped frames are never decoded; a failure too close to the end leaves 0s.
    func testVOTFailureSkipsFourFramesAndReinitialisesFiveLater() throws {
        let failures: Set = [3, 17]
        let tracker = ScriptedTracker { f, _ in failures.contains(f) ? Self.lost : Self.onTarget }
        let frames = IndexedFrames(count: 20)
        var truth = [GroundTruth](repeating: .polygon(Self.target.corners), count: 20)
        truth[8] = .box(Box(x: 11, y: 12, width: 21, height: 22))   // the re-initialisation frame's own ground truth
        var seen: [Int] = []
        let result = try VOTProtocol.run(tracker, frames: frames, groundTruth: truth) { seen.append($0) }
        XCTAssertEqual(
            codes(result),
            ["1", "r", "r", "2", "0", "0", "0", "0", "1", "r", "r", "r", "r", "r", "r", "r", "r", "2", "0", "0"])
        XCTAssertEqual(tracker.starts.map(\.frame), [0, 8])
        guard case .box(let x, let y, let w, let h) = tracker.starts[1].target else {
            return XCTFail("re-initialised from a box")
        }
        XCTAssertEqual([x, y, w, h], [11, 12, 21, 22])
        guard case .polygon(let p) = tracker.starts[0].target else { return XCTFail("initialised from the polygon") }
        XCTAssertEqual(p, Self.target.corners.flatMap { [$0.x, $0.y] })
        XCTAssertEqual(frames.decoded, [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17])
        XCTAssertEqual(seen, Array(0..<20))
        // The file written for it, read back, is the same sequence of frames.
        XCTAssertEqual(try VOTMetrics.parseResult(VOTMetrics.formatResult(result)).count, 20)
        XCTAssertTrue(
            VOTMetrics.formatResult(result).hasPrefix(
                "1\n12.0000,12.0000,32.0000,12.0000,32.0000,32.0000,12.0000,32.0000\n"))
    }

    /// Overlap is bounded by the image: a region that meets the ground truth only outside the frame is a failure.
    func testVOTOverlapOutsideTheImageIsAFailure() throws {
        let outside = BenchmarkFrameResult(
            polygon: Box(x: 101, y: 10, width: 5, height: 5).corners, box: Box(x: 101, y: 10, width: 5, height: 5))
        let tracker = ScriptedTracker { _, _ in outside }
        let truth = [GroundTruth](repeating: .box(Box(x: 90, y: 10, width: 20, height: 20)), count: 3)
        let result = try VOTProtocol.run(tracker, frames: IndexedFrames(count: 3), groundTruth: truth)
        XCTAssertEqual(codes(result), ["1", "2", "0"])
    }

    /// No ground truth: the frame cannot fail, and a re-initialisation waits for the next annotated frame.
    func testVOTMissingGroundTruth() throws {
        let tracker = ScriptedTracker { f, _ in f == 2 || f == 3 ? Self.lost : Self.onTarget }
        var truth = [GroundTruth](repeating: .polygon(Self.target.corners), count: 11)
        truth[2] = .missing
        truth[8] = .missing
        let result = try VOTProtocol.run(tracker, frames: IndexedFrames(count: 11), groundTruth: truth)
        XCTAssertEqual(codes(result), ["1", "r", "r", "2", "0", "0", "0", "0", "0", "1", "r"])
        XCTAssertEqual(tracker.starts.map(\.frame), [0, 9])
    }

    func testOTBOnePassFromTheFirstBox() throws {
        let tracker = ScriptedTracker { f, _ in
            BenchmarkFrameResult(polygon: [], box: Box(x: Double(f), y: 1, width: 2, height: 3))
        }
        let truth: [GroundTruth] = [.box(Self.target), .missing, .box(Self.target), .box(Self.target)]
        let boxes = try OTBProtocol.run(tracker, frames: IndexedFrames(count: 4), groundTruth: truth, sequence: "s")
        XCTAssertEqual(boxes, [Self.target] + (1...3).map { Box(x: Double($0), y: 1, width: 2, height: 3) })
        XCTAssertEqual(tracker.starts.count, 1, "one pass, never re-initialised")
        XCTAssertThrowsError(
            try OTBProtocol.run(tracker, frames: IndexedFrames(count: 4), groundTruth: [.missing], sequence: "s")
        ) {
            XCTAssertTrue("\($0)".contains("no first-frame ground truth"), "\($0)")
        }
    }

    /// Objects 3 and 7 of a palette annotation, each in its own pass; the label map is the argmax over objects where
    /// the maximum exceeds seg_thr (ties: the first object), 0 elsewhere; frame 0 is the given masks.
    func testDAVISCombinesObjectsByArgmaxAboveThreshold() throws {
        let w = 8, h = 2
        var first = [UInt8](repeating: 0, count: w * h)
        first[1] = 3; first[2] = 3; first[6] = 7; first[15] = 255   // 255 = DAVIS-2017 void, not an object
        let annotation = try LabelMap(width: w, height: h, labels: first, indexed: true)
        XCTAssertEqual(DAVISProtocol.objects(annotation), [3, 7])
        // Row 0: object 3 (pass 0) 0.9 on x 0..3, object 7 (pass 1) 0.95 on x 3..5 -> x 3 goes to 7 (higher).
        // x 6: both 0.5 (tie) -> object 3. x 7: both 0.3 (below 0.35) -> 0. Row 1: -1 everywhere (outside windows).
        let tracker = ScriptedTracker { _, pass in
            var p = [Float](repeating: -1, count: w * h)
            for x in 0..<w {
                if pass == 0 {
                    p[x] = x <= 3 ? 0.9 : x == 6 ? 0.5 : x == 7 ? 0.3 : 0.1
                } else {
                    p[x] = (3...5).contains(x) ? 0.95 : x == 6 ? 0.5 : x == 7 ? 0.3 : 0.2
                }
            }
            return BenchmarkFrameResult(polygon: [], box: Self.target, probability: p)
        }
        let frames = IndexedFrames(count: 3, width: w, height: h)
        let maps = try DAVISProtocol.run(tracker, frames: frames, firstFrame: annotation, sequence: "s")
        XCTAssertEqual(maps.count, 3)
        XCTAssertEqual(maps[0], first.map { $0 == 255 ? 0 : $0 })
        XCTAssertEqual(Array(maps[1][0..<w]), [3, 3, 3, 7, 7, 7, 3, 0])
        XCTAssertEqual(Array(maps[1][w...]), [UInt8](repeating: 0, count: w))
        XCTAssertEqual(maps[2], maps[1])
        // One pass per object, each started from its own mask.
        XCTAssertEqual(tracker.starts.map(\.frame), [0, 0])
        XCTAssertEqual(tracker.tracked, [1, 2, 1, 2])
        guard case .mask(let m, _, _) = tracker.starts[1].target else { return XCTFail("started from a mask") }
        XCTAssertEqual(m.enumerated().filter { $0.element != 0 }.map(\.offset), [6])
        // A grey DAVIS-2016 mask is one object, whatever its nonzero value.
        let grey = try LabelMap(width: 2, height: 1, labels: [0, 255], indexed: false)
        XCTAssertEqual(DAVISProtocol.objects(grey), [1])
        XCTAssertEqual(DAVISProtocol.groundTruthLabels(grey), [0, 1])
    }

    /// DAVIS-2017 annotations are palette PNGs: their indices are the object ids, which Image.read (colour to grey,
    /// as OpenCV) does not give. A 4-bit palette file written by PIL, and our own 8-bit palette files, read back.
    func testPaletteLabelMapsReadAsIndices() throws {
        // PIL: Image.fromarray([[0,1,0,0,0],[0,0,2,0,0],[15,0,0,0,3]], 'P') with a 16-entry palette -> 4-bit PNG.
        let pil = Data(
            base64Encoded:
                "iVBORw0KGgoAAAANSUhEUgAAAAUAAAADBAMAAACpGNjLAAAAMFBMVEUAAACAAAAAgACAgAAHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBweETEaIAAAAFElEQVR4nGNgZGBgYFBgYPjAYAAAA9cBQrG+H6MAAAAASUVORK5CYII="
        )!
        let labels = try LabelMap.decode(pil)
        XCTAssertTrue(labels.indexed)
        XCTAssertEqual(labels.width, 5)
        XCTAssertEqual(labels.labels, [0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 15, 0, 0, 0, 3])
        XCTAssertNotEqual(
            try Image.decode(pil, as: .grey).pixels, labels.labels, "grey decoding gives colours, not indices")

        let map = try LabelMap(width: 3, height: 2, labels: [0, 1, 2, 200, 0, 1], indexed: true)
        let bytes = try map.encodedIndexedPNG()
        XCTAssertEqual(try LabelMap.decode(Data(bytes)), map)
        // Colours as a person sees them: the DAVIS palette (object 1 red, 2 green).
        let colour = try Image.decode(bytes, as: .bgr)
        XCTAssertEqual(Array(colour.pixels[3..<9]), [0, 0, 128, 0, 128, 0])
        XCTAssertThrowsError(
            try LabelMap(width: 1, height: 1, labels: [5], indexed: true).encodedIndexedPNG(palette: [0, 0, 0, 9, 9, 9])
        )

        // Grey PNGs read as their values; colour PNGs are not label maps.
        let grey = try Image(width: 2, height: 1, channels: 1, pixels: [0, 255]).encoded(as: .png)
        XCTAssertEqual(
            try LabelMap.decode(Data(grey)), try LabelMap(width: 2, height: 1, labels: [0, 255], indexed: false))
        let rgb = try Image(width: 1, height: 1, channels: 3, pixels: [1, 2, 3]).encoded(as: .png)
        XCTAssertThrowsError(try LabelMap.decode(Data(rgb))) {
            XCTAssertTrue("\($0)".contains("palette or 8-bit grey"), "\($0)")
        }
    }
}
