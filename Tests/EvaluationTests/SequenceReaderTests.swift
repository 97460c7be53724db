import Evaluation
import Foundation
import TestSupport
import XCTest

final class SequenceReaderTests: XCTestCase {
    func sharedData() throws -> URL {
        guard let d = TestPaths.sharedData else {
            throw XCTSkip("../shared/data is absent: real-footage layout tests skipped")
        }
        return d
    }

    func testDetectsEveryBenchmarkLayoutOnRealFootage() throws {
        let data = try sharedData()
        let tennis = try SequenceReader.open(data.appendingPathComponent("DAVIS/JPEGImages/480p/tennis"))
        XCTAssertEqual(tennis.layout, .davis)
        XCTAssertEqual(tennis.frames.count, 70)
        XCTAssertEqual(tennis.masks.compactMap { $0 }.count, 70)
        guard case .mask(let m)? = tennis.initialTarget else { return XCTFail("DAVIS initialises from the first mask") }
        XCTAssertEqual(m.lastPathComponent, "00000.png")

        let bag = try SequenceReader.open(data.appendingPathComponent("VOT/bag"))
        XCTAssertEqual(bag.layout, .vot)
        XCTAssertEqual(bag.frames.count, 196)
        XCTAssertEqual(bag.groundTruth.count, 196)
        guard case .polygon(let p)? = bag.initialTarget else { return XCTFail("VOT initialises from a polygon") }
        XCTAssertEqual(p.count, 4)

        let crossing = try SequenceReader.open(data.appendingPathComponent("OTB/Crossing"))
        XCTAssertEqual(crossing.layout, .otb)
        XCTAssertEqual(crossing.frames.count, 120)
        guard case .box(let b)? = crossing.initialTarget else { return XCTFail("OTB initialises from a rectangle") }
        // groundtruth_rect.txt is 1-based; the reader converts to 0-based.
        let firstLine = try String(
            contentsOf: data.appendingPathComponent("OTB/Crossing/groundtruth_rect.txt"), encoding: .utf8
        )
        .split(separator: "\n")[0].split(whereSeparator: { ",\t ".contains($0) }).compactMap { Double($0) }
        XCTAssertEqual(b, Box(x: firstLine[0] - 1, y: firstLine[1] - 1, width: firstLine[2], height: firstLine[3]))
    }

    func testLayoutErrorsAreClear() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try SequenceReader.open(dir.appendingPathComponent("nope"))) {
            XCTAssertEqual($0 as? SequenceError, .notFound(dir.appendingPathComponent("nope").path))
        }
        XCTAssertThrowsError(try SequenceReader.open(dir)) { XCTAssertEqual($0 as? SequenceError, .noFrames(dir.path)) }
        let frame = dir.appendingPathComponent("00000001.jpg")
        try Data([0xFF, 0xD8, 0xFF]).write(to: frame)
        try Data("1,2,3\n".utf8).write(to: dir.appendingPathComponent("groundtruth.txt"))
        XCTAssertThrowsError(try SequenceReader.open(dir)) {
            guard case SequenceError.badGroundTruth(_, 1, _)? = $0 as? SequenceError else { return XCTFail("\($0)") }
        }
        try Data("1,2,3,4\n5,6,7,8\n".utf8).write(to: dir.appendingPathComponent("groundtruth.txt"))
        XCTAssertThrowsError(try SequenceReader.open(dir)) {
            XCTAssertEqual($0 as? SequenceError, .groundTruthCount(file: "groundtruth.txt", frames: 1, lines: 2))
        }
        try Data("1,2,3,4\n".utf8).write(to: dir.appendingPathComponent("groundtruth.txt"))
        let seq = try SequenceReader.open(dir)
        XCTAssertEqual(seq.layout, .vot)
        // A corrupt frame is reported by name when it is read, not at open.
        let reader = try FrameReader(seq)
        XCTAssertThrowsError(try reader.next()) {
            guard case SequenceError.unreadableFrame(let path, _)? = $0 as? SequenceError else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual(path, frame.path)
        }
        let txt = dir.appendingPathComponent("notes.txt")
        try Data().write(to: txt)
        XCTAssertThrowsError(try SequenceReader.open(txt))
    }

    func testGroundTruthParsing() throws {
        XCTAssertEqual(
            try GroundTruthParser.votLine("1,2,3,4,5,6,7,8", lineNumber: 1, file: "g"),
            .polygon([Point(1, 2), Point(3, 4), Point(5, 6), Point(7, 8)]))
        XCTAssertEqual(try GroundTruthParser.votLine("NaN,NaN,NaN,NaN", lineNumber: 1, file: "g"), .missing)
        XCTAssertEqual(
            try GroundTruthParser.otbLine("10\t20\t30\t40", lineNumber: 1, file: "g"),
            .box(Box(x: 9, y: 19, width: 30, height: 40)))
        XCTAssertThrowsError(try GroundTruthParser.otbLine("10,x,30,40", lineNumber: 3, file: "g"))
        XCTAssertEqual(
            Box(x: 0, y: 0, width: 2, height: 2).intersectionOverUnion(Box(x: 1, y: 0, width: 2, height: 2)), 1.0 / 3.0,
            accuracy: 1e-12)
    }
}
