// This file imports only SiamMask and XCTest: everything it uses (Image, SiamMaskModel, the tracker, presets,
// ImageFiles) must come through `import SiamMask`. The models and the reference results come from
// FrontDoorFixture.swift, which may import anything.
import SiamMask
import XCTest

final class FrontDoorTests: XCTestCase {
    /// A client's reading of a VOT groundtruth.txt first line: x1,y1,...,x4,y4.
    func firstPolygon(_ sequence: URL) throws -> [Double] {
        let text = try String(contentsOf: sequence.appendingPathComponent("groundtruth.txt"), encoding: .utf8)
        let values = try XCTUnwrap(text.split(separator: "\n").first).split(separator: ",").compactMap { Double($0) }
        XCTAssertEqual(values.count, 8)
        return values
    }

    /// Every field of two results equal, to the bit (timings aside).
    func assertIdentical(
        _ a: TrackResult, _ b: TrackResult, _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.center.x.bitPattern, b.center.x.bitPattern, "\(what): cx", file: file, line: line)
        XCTAssertEqual(a.center.y.bitPattern, b.center.y.bitPattern, "\(what): cy", file: file, line: line)
        XCTAssertEqual(a.size.width.bitPattern, b.size.width.bitPattern, "\(what): w", file: file, line: line)
        XCTAssertEqual(a.size.height.bitPattern, b.size.height.bitPattern, "\(what): h", file: file, line: line)
        XCTAssertEqual(
            a.polygon.flatMap { [$0.x.bitPattern, $0.y.bitPattern] },
            b.polygon.flatMap { [$0.x.bitPattern, $0.y.bitPattern] },
            "\(what): polygon", file: file, line: line)
        XCTAssertEqual(a.score.bitPattern, b.score.bitPattern, "\(what): score", file: file, line: line)
        XCTAssertEqual(a.best, b.best, "\(what): best anchor", file: file, line: line)
        XCTAssertEqual(a.bestPScore.bitPattern, b.bestPScore.bitPattern, "\(what): best pscore", file: file, line: line)
        XCTAssertEqual(
            a.secondPScore.bitPattern, b.secondPScore.bitPattern, "\(what): second pscore", file: file, line: line)
        XCTAssertTrue(
            a.probability.map(\.bitPattern) == b.probability.map(\.bitPattern), "\(what): probability map", file: file,
            line: line)
        XCTAssertTrue(a.mask == b.mask, "\(what): mask", file: file, line: line)
    }

    /// Load a `.siam` (float32 and int8), start on the first frame, track every further frame: the same results as
    /// the session path the command line used before, bit for bit; frame by frame and through the loop alike.
    func testFrontDoorTracksLikeTheSessionPathBitForBit() throws {
        let fixture = try FrontDoorFixture.shared()
        let polygon = try firstPolygon(fixture.sequence)
        for url in [fixture.float32, fixture.int8] {
            let reference = try XCTUnwrap(fixture.reference[url])
            XCTAssertEqual(reference.count, FrontDoorFixture.frames)
            let model = try SiamMaskModel(contentsOf: url)
            XCTAssertEqual(model.precision, url == fixture.int8 ? "int8" : "float32")

            // Frame by frame, reading the files as a client would.
            let tracker = try model.makeTracker(preset: .auto, threads: FrontDoorFixture.threads)
            XCTAssertEqual(tracker.preset.name, "vot", "auto outside DAVIS: the model's default preset")
            let frames = try ImageFiles(folder: fixture.sequence)
            try tracker.start(frame: try XCTUnwrap(try frames.next()), target: .polygon(polygon))
            var index = 0
            while let frame = try frames.next() {
                let r = try tracker.track(frame)
                XCTAssertGreaterThanOrEqual(r.score, 0)
                XCTAssertEqual(r.mask.count, frame.width * frame.height)
                XCTAssertEqual(r.polygon.count, 4)
                assertIdentical(r, reference[index], "\(url.lastPathComponent) frame \(index + 1)")
                index += 1
            }
            XCTAssertEqual(index, reference.count)

            // The loop, on a network built once, with a frame limit.
            let network = try SiamMaskNetwork(contentsOf: url)
            let looped = try network.makeTracker(preset: .vot, threads: FrontDoorFixture.threads)
            var seen: [Int] = []
            let summary = try looped.track(
                ImageFiles(folder: fixture.sequence), maxFrames: 3, target: { _ in .polygon(polygon) }
            ) { i, _, r in
                seen.append(i)
                assertIdentical(r, reference[i - 1], "\(url.lastPathComponent) loop frame \(i)")
            }
            XCTAssertEqual(seen, [1, 2, 3])
            XCTAssertEqual(summary.trackedFrames, 3)
            XCTAssertGreaterThan(summary.networkSeconds, 0)
        }
    }

    /// The `auto` rule and the other presets, resolved in one place.
    func testPresetsResolveByOneRule() throws {
        let model = try SiamMaskModel(contentsOf: FrontDoorFixture.shared().float32)
        XCTAssertEqual(model.defaultPreset, "vot")
        XCTAssertEqual(try TrackerPreset.auto.resolved(for: model).name, "vot")
        XCTAssertEqual(
            try TrackerPreset.auto.resolved(for: model, davisProtocol: true),
            ResolvedTrackerPreset(name: "davis", parameters: model.presets["davis"]!))
        XCTAssertEqual(try TrackerPreset.davis.resolved(for: model).parameters, .davis)
        XCTAssertEqual(TrackerPreset("auto"), .auto)
        XCTAssertEqual(TrackerPreset("vot"), .vot)
        XCTAssertEqual(TrackerPreset("davis"), .davis)
        XCTAssertEqual(TrackerPreset("turbo"), .named("turbo"))
        var custom = TrackerHyperParameters.vot
        custom.windowInfluence = 0.3
        let resolved = try TrackerPreset.custom(custom).resolved(for: model)
        XCTAssertEqual(resolved.name, "custom")
        XCTAssertEqual(try model.makeTracker(preset: .custom(custom)).session.parameters, custom)
        XCTAssertThrowsError(try TrackerPreset.named("turbo").resolved(for: model)) { error in
            XCTAssertEqual(error as? TrackerError, .unknownPreset("turbo", available: ["davis", "vot"]))
            XCTAssertEqual("\(error)", "unknown preset 'turbo' (the model has davis, vot)")
        }
    }

    /// Clear errors: a file that is not a model, tracking before starting, a bad thread count, a folder without frames.
    func testMisuseGivesClearErrors() throws {
        let fixture = try FrontDoorFixture.shared()
        let notAModel = fixture.directory.appendingPathComponent("sequence/groundtruth.txt")
        XCTAssertThrowsError(try SiamMaskModel(contentsOf: notAModel))
        XCTAssertThrowsError(try SiamMaskModel(contentsOf: fixture.directory.appendingPathComponent("missing.siam")))
        let model = try SiamMaskModel(contentsOf: fixture.float32)
        let tracker = try model.makeTracker()
        let frame = try XCTUnwrap(try ImageFiles(folder: fixture.sequence).next())
        XCTAssertFalse(tracker.isStarted)
        XCTAssertThrowsError(try tracker.track(frame)) { XCTAssertEqual($0 as? TrackerError, .notStarted) }
        XCTAssertThrowsError(try tracker.start(frame: frame, target: .box(x: 5000, y: 5000, width: 10, height: 10)))
        XCTAssertFalse(tracker.isStarted, "a failed start leaves the tracker unstarted")
        XCTAssertThrowsError(try tracker.track(frame)) { XCTAssertEqual($0 as? TrackerError, .notStarted) }
        XCTAssertThrowsError(try model.makeTracker(threads: 0)) {
            XCTAssertEqual($0 as? TrackerError, .invalidThreadCount(0))
        }
        XCTAssertThrowsError(try ImageFiles(folder: fixture.directory)) { error in
            guard case .noFrames? = error as? TrackingLoopError else { return XCTFail("\(error)") }
        }
        // The loop names the stage that failed: an unreadable first frame.
        let bad = fixture.directory.appendingPathComponent("not-an-image.jpg")
        try Data("not a JPEG".utf8).write(to: bad)
        XCTAssertThrowsError(
            try tracker.track(ImageFiles([bad]), target: { _ in .box(x: 1, y: 1, width: 5, height: 5) }) { _, _, _ in }
        ) { error in
            guard case .reading(frame: 0, _)? = error as? TrackingLoopError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix("cannot read the first frame"), "\(error)")
        }
    }
}
