import Foundation
import Imaging
import Synthetic
import TestSupport
import XCTest

final class SyntheticTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestPaths.temporaryDirectory("synthetic-test") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// Small and short so debug builds stay fast.
    static func small(
        seed: UInt64, frames: Int = 6, difficulty: Difficulty = .hard, format: ImageFileFormat = .jpeg,
        layout: SequenceLayout = .flat, name: String? = nil, threads: Int = 2
    ) -> SynthOptions {
        SynthOptions(
            seed: seed, frames: frames, width: 160, height: 96, difficulty: difficulty, frameFormat: format,
            layout: layout, sequenceName: name, threads: threads)
    }

    /// Every regular file under `root`, by relative path.
    static func files(_ root: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let base = root.standardizedFileURL.path
        guard let e = FileManager.default.enumerator(atPath: base) else { return out }
        for case let relative as String in e {
            var isDirectory: ObjCBool = false
            let full = base + "/" + relative
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                out[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return out
    }

    static func polygons(_ url: URL) throws -> [[Double]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            line.split(separator: ",").map { Double($0)! }
        }
    }

    // MARK: determinism

    func testSameSeedGivesIdenticalBytes() throws {
        let a = directory.appendingPathComponent("a"), b = directory.appendingPathComponent("b")
        try SequenceWriter.write(Self.small(seed: 42, threads: 2), to: a)
        try SequenceWriter.write(Self.small(seed: 42, threads: 1), to: b)
        let fa = try Self.files(a), fb = try Self.files(b)
        XCTAssertEqual(fa.count, 6 + 6 + 2)
        XCTAssertEqual(Set(fa.keys), Set(fb.keys))
        for (name, data) in fa { XCTAssertEqual(data, fb[name], "\(name) differs between runs") }
    }

    func testDifferentSeedsDiffer() throws {
        let a = directory.appendingPathComponent("a"), b = directory.appendingPathComponent("b")
        try SequenceWriter.write(Self.small(seed: 1), to: a)
        try SequenceWriter.write(Self.small(seed: 2), to: b)
        let fa = try Self.files(a), fb = try Self.files(b)
        for name in ["00000.jpg", "00005.jpg", "masks/00000.png", "groundtruth.txt", "meta.json"] {
            XCTAssertNotEqual(fa[name], fb[name], name)
        }
    }

    /// Pins the output of one seed: any change of pixels or polygons across platforms, build modes or edits of
    /// the generator shows up here (bump SequenceGenerator.version and these values together).
    func testGoldenChecksums() throws {
        let g = try SequenceGenerator(options: Self.small(seed: 2024, frames: 10, difficulty: .hard))
        XCTAssertGreaterThan(g.occluderCount, 0)
        XCTAssertGreaterThan(g.distractorCount, 0)
        var lines: [String] = []
        var pixelHash: UInt64 = 0xcbf2_9ce4_8422_2325
        for t in 0..<10 {
            let f = g.render(frame: t)
            lines.append(f.rectangle?.votLine ?? "-")
            for bytes in [f.image.pixels, f.mask.pixels] {
                bytes.withUnsafeBufferPointer { p in
                    for byte in p { pixelHash = (pixelHash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                }
            }
        }
        XCTAssertEqual(String(pixelHash, radix: 16), Self.goldenPixelHash)
        XCTAssertEqual(lines, Self.goldenLines)
    }

    static let goldenPixelHash = "fe74d182eedd9d2d"
    static let goldenLines = [
        "78.38,38.08,86.23,32.85,89.62,37.92,81.77,43.15", "80.00,41.00,86.50,34.50,91.00,39.00,84.50,45.50",
        "78.69,37.54,86.77,32.15,90.00,37.00,81.92,42.38", "79.38,36.97,88.21,31.68,91.56,37.26,82.74,42.56",
        "78.40,39.20,86.08,33.44,89.56,38.08,81.88,43.84", "77.50,39.50,84.00,33.00,89.00,38.00,82.50,44.50",
        "77.24,38.32,84.92,32.56,88.76,37.68,81.08,43.44", "78.08,37.62,86.38,32.08,90.23,37.85,81.92,43.38",
        "75.50,35.50,82.50,28.50,87.50,33.50,80.50,40.50", "75.08,36.62,82.92,31.38,87.08,37.62,79.23,42.85",
    ]

    func testDeterministicSineMatchesLibm() {
        // Not used for output (libm may differ across platforms), only to check the polynomial.
        var rng = SeededGenerator(seed: 3)
        for _ in 0..<2000 {
            let x = Double(rng.next() % 2_000_000) / 1000 - 1000
            XCTAssertEqual(DeterministicMath.sin(x), sin(x), accuracy: 1e-12)
            XCTAssertEqual(DeterministicMath.cos(x), cos(x), accuracy: 1e-12)
        }
    }

    // MARK: masks and polygons

    func testMaskIsExactlyTheVisibleTarget() throws {
        for difficulty in Difficulty.allCases {
            let g = try SequenceGenerator(options: Self.small(seed: 9, frames: 12, difficulty: difficulty))
            let key: (UInt8, UInt8, UInt8) = (1, 254, 3)
            for t in 0..<12 {
                let plain = g.render(frame: t, effects: false)
                let keyed = g.render(frame: t, effects: false, targetKey: key)
                XCTAssertEqual(plain.mask, keyed.mask)
                XCTAssertGreaterThan(plain.area, 0, "\(difficulty) frame \(t): target invisible")
                var maskPixels = 0
                for i in 0..<(g.width * g.height) {
                    let m = plain.mask.pixels[i]
                    XCTAssertTrue(m == 0 || m == 255)
                    let p = 3 * i
                    if m == 255 {
                        maskPixels += 1
                        // Inside the mask the debug pass shows the target's key colour everywhere...
                        if keyed.image.pixels[p] != key.0 || keyed.image.pixels[p + 1] != key.1
                            || keyed.image.pixels[p + 2] != key.2
                        {
                            return XCTFail("\(difficulty) frame \(t): mask pixel \(i) is not drawn by the target")
                        }
                    } else if plain.image.pixels[p..<(p + 3)] != keyed.image.pixels[p..<(p + 3)] {
                        // ...and outside it the target changes nothing (occluded target pixels are not in the mask).
                        return XCTFail("\(difficulty) frame \(t): pixel \(i) outside the mask depends on the target")
                    }
                }
                XCTAssertEqual(maskPixels, plain.area)
            }
        }
    }

    func testOcclusionRemovesPixelsFromTheMask() throws {
        // Find frames where an occluder crosses the target: the mask loses pixels against the unoccluded outline.
        var sawOcclusion = false
        for seed in UInt64(1)...UInt64(6) where !sawOcclusion {
            let g = try SequenceGenerator(
                options: SynthOptions(seed: seed, frames: 40, width: 160, height: 96, difficulty: .hard))
            guard g.occluderCount > 0 else { continue }
            for t in 0..<40 {
                let visible = g.render(frame: t, effects: false).area
                let full = g.targetCoverage(frame: t)
                XCTAssertLessThanOrEqual(visible, full)
                if visible < full {
                    sawOcclusion = true
                    XCTAssertGreaterThan(visible, 0, "occluders must never hide the whole target")
                }
            }
        }
        XCTAssertTrue(sawOcclusion, "no occlusion in six hard sequences")
    }

    func testPolygonEnclosesTheMaskTightly() throws {
        let out = directory.appendingPathComponent("seq")
        let summary = try SequenceWriter.write(Self.small(seed: 5, frames: 8, difficulty: .hard), to: out)
        let polygons = try Self.polygons(summary.groundtruthFile)
        XCTAssertEqual(polygons.count, 8)
        for (t, polygon) in polygons.enumerated() {
            XCTAssertEqual(polygon.count, 8)
            let mask = try Image.read(
                contentsOf: summary.masksDirectory.appendingPathComponent(String(format: "%05d.png", t)), as: .grey)
            var points: [(Double, Double)] = []
            for y in 0..<mask.height {
                for x in 0..<mask.width where mask[x, y, 0] == 255 { points.append((Double(x), Double(y))) }
            }
            XCTAssertFalse(points.isEmpty)
            let corners = stride(from: 0, to: 8, by: 2).map { (polygon[$0], polygon[$0 + 1]) }
            // Every mask pixel centre inside (or within 1 px of) the polygon.
            for p in points { XCTAssertLessThanOrEqual(Self.outsideDistance(p, corners), 1.0, "frame \(t) point \(p)") }
            // Area within 3% (plus rounding) of a brute-force minimum over directions every 0.25 degrees.
            var best = Double.infinity
            for step in 0..<720 {
                let a = Double(step) * Double.pi / 720, c = cos(a), s = sin(a)
                var minU = Double.infinity, maxU = -Double.infinity, minV = Double.infinity, maxV = -Double.infinity
                for (x, y) in points {
                    let u = x * c + y * s, v = -x * s + y * c
                    minU = min(minU, u); maxU = max(maxU, u); minV = min(minV, v); maxV = max(maxV, v)
                }
                best = min(best, (maxU - minU) * (maxV - minV))
            }
            let area = Self.polygonArea(corners)
            XCTAssertLessThanOrEqual(area, best * 1.0 + 0.5, "frame \(t)")
            XCTAssertGreaterThanOrEqual(area, best * 0.97 - 0.5, "frame \(t)")
        }
    }

    /// How far `p` lies outside the convex polygon (0 when inside).
    static func outsideDistance(_ p: (Double, Double), _ c: [(Double, Double)]) -> Double {
        var worst = 0.0
        let orientation = polygonSignedArea(c) >= 0 ? 1.0 : -1.0
        for i in 0..<c.count {
            let a = c[i], b = c[(i + 1) % c.count]
            let len = hypot(b.0 - a.0, b.1 - a.1)
            if len == 0 { continue }
            let cross = orientation * ((b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0)) / len
            worst = max(worst, -cross)
        }
        return worst
    }

    static func polygonSignedArea(_ c: [(Double, Double)]) -> Double {
        var s = 0.0
        for i in 0..<c.count { let a = c[i], b = c[(i + 1) % c.count]; s += a.0 * b.1 - b.0 * a.1 }
        return s / 2
    }

    static func polygonArea(_ c: [(Double, Double)]) -> Double { abs(polygonSignedArea(c)) }

    // MARK: layouts

    func testFlatLayoutOnDisk() throws {
        let out = directory.appendingPathComponent("flat")
        let summary = try SequenceWriter.write(Self.small(seed: 3, frames: 5, difficulty: .easy, format: .png), to: out)
        let files = try Self.files(out)
        var expected: Set<String> = ["groundtruth.txt", "meta.json"]
        for t in 0..<5 {
            expected.insert(String(format: "%05d.png", t)); expected.insert(String(format: "masks/%05d.png", t))
        }
        XCTAssertEqual(Set(files.keys), expected)
        XCTAssertEqual(summary.groundtruth.count, 5)
        XCTAssertEqual(
            String(decoding: files["groundtruth.txt"]!, as: UTF8.self), summary.groundtruth.map { $0 + "\n" }.joined())
        let frame = try Image.read(contentsOf: out.appendingPathComponent("00004.png"))
        XCTAssertEqual([frame.width, frame.height, frame.channels], [160, 96, 3])
        let mask = try Image.read(contentsOf: out.appendingPathComponent("masks/00004.png"), as: .grey)
        XCTAssertEqual([mask.width, mask.height], [160, 96])
        XCTAssertTrue(Set(mask.pixels).isSubset(of: [0, 255]))
        // PNG frames are lossless: they equal the rendered frame.
        let g = try SequenceGenerator(options: Self.small(seed: 3, frames: 5, difficulty: .easy, format: .png))
        XCTAssertEqual(frame, g.render(frame: 4).image)
        XCTAssertEqual(mask, g.render(frame: 4).mask)
        let meta = try JSONSerialization.jsonObject(with: files["meta.json"]!) as! [String: Any]
        XCTAssertEqual(meta["seed"] as? Int, 3)
        XCTAssertEqual(meta["difficulty"] as? String, "easy")
        XCTAssertEqual(meta["width"] as? Int, 160)
        XCTAssertEqual(meta["height"] as? Int, 96)
        XCTAssertEqual(meta["frames"] as? Int, 5)
        XCTAssertEqual(meta["generator_version"] as? Int, SequenceGenerator.version)
        XCTAssertEqual(meta["frame_format"] as? String, "png")
        // No temporary folders left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["flat"])
    }

    func testDAVISLayoutOnDisk() throws {
        let root = directory.appendingPathComponent("DAVIS")
        try SequenceWriter.write(Self.small(seed: 1, frames: 3, layout: .davis, name: "alpha"), to: root)
        try SequenceWriter.write(Self.small(seed: 2, frames: 4, layout: .davis, name: "beta"), to: root)
        let files = try Self.files(root)
        for (name, count) in [("alpha", 3), ("beta", 4)] {
            for t in 0..<count {
                XCTAssertNotNil(files[String(format: "JPEGImages/480p/\(name)/%05d.jpg", t)])
                XCTAssertNotNil(files[String(format: "Annotations/480p/\(name)/%05d.png", t)])
            }
            XCTAssertNil(files[String(format: "JPEGImages/480p/\(name)/%05d.jpg", count)])
            XCTAssertNotNil(files["Synthetic/\(name)/groundtruth.txt"])
            XCTAssertNotNil(files["Synthetic/\(name)/meta.json"])
        }
        XCTAssertEqual(String(decoding: files["sequences.txt"]!, as: UTF8.self), "alpha\nbeta\n")
        XCTAssertEqual(files.count, 3 + 3 + 4 + 4 + 2 + 2 + 1)
        // The same sequence again: refused, nothing changed, nothing left behind.
        XCTAssertThrowsError(
            try SequenceWriter.write(Self.small(seed: 9, frames: 2, layout: .davis, name: "beta"), to: root)
        ) { error in
            guard case .outputExists? = error as? SynthError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try Self.files(root), files)
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: root.path)),
            ["JPEGImages", "Annotations", "Synthetic", "sequences.txt"])
        // Default name.
        let summary = try SequenceWriter.write(
            Self.small(seed: 7, frames: 1, difficulty: .medium, layout: .davis), to: root)
        XCTAssertEqual(summary.framesDirectory.lastPathComponent, "synth-7-medium")
    }

    // MARK: bad options and failures

    func testBadOptionsGiveClearErrors() throws {
        func expectInvalid(_ options: SynthOptions, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try SequenceGenerator(options: options), line: line) { error in
                guard case .invalidOption(let message)? = error as? SynthError else {
                    return XCTFail("\(error)", line: line)
                }
                XCTAssertTrue(message.contains(fragment), message, line: line)
                XCTAssertFalse("\(error)".contains("\n"), line: line)
            }
        }
        expectInvalid(SynthOptions(seed: 1, frames: 0), "--frames")
        expectInvalid(SynthOptions(seed: 1, frames: -3), "--frames")
        expectInvalid(SynthOptions(seed: 1, frames: 2, width: -854), "--width")
        expectInvalid(SynthOptions(seed: 1, frames: 2, height: 0), "--height")
        expectInvalid(SynthOptions(seed: 1, frames: 2, width: 100_000), "at most")
        expectInvalid(SynthOptions(seed: 1, frames: 2, jpegQuality: 0), "--quality")
        expectInvalid(SynthOptions(seed: 1, frames: 2, threads: 0), "--threads")
        expectInvalid(SynthOptions(seed: 1, frames: 2, sequenceName: "../escape"), "--name")
        expectInvalid(SynthOptions(seed: 1, frames: 2, sequenceName: ""), "--name")
    }

    func testUnwritableOrExistingOutputFailsAndLeavesNothing() throws {
        let options = Self.small(seed: 1, frames: 2)
        // Parent folder missing.
        let missing = directory.appendingPathComponent("no/such/parent/out")
        XCTAssertThrowsError(try SequenceWriter.write(options, to: missing)) { error in
            guard case .cannotCreate? = error as? SynthError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        // Parent is a file.
        let file = directory.appendingPathComponent("file.txt")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try SequenceWriter.write(options, to: file.appendingPathComponent("out"))) { error in
            guard case .cannotCreate? = error as? SynthError else { return XCTFail("\(error)") }
        }
        // Output exists and is not empty (or is a file).
        let full = directory.appendingPathComponent("full")
        try FileManager.default.createDirectory(at: full, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: full.appendingPathComponent("keep.txt"))
        XCTAssertThrowsError(try SequenceWriter.write(options, to: full)) { error in
            XCTAssertEqual(error as? SynthError, .outputExists(path: full.path))
        }
        XCTAssertThrowsError(try SequenceWriter.write(options, to: file)) { error in
            XCTAssertEqual(error as? SynthError, .outputExists(path: file.path))
        }
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)), ["file.txt", "full"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: full.path), ["keep.txt"])
        // An existing empty folder is replaced.
        let empty = directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try SequenceWriter.write(options, to: empty)
        XCTAssertEqual(try Self.files(empty).count, 2 + 2 + 2)
    }

    func testFailureWhileMovingIntoADAVISRootRollsBack() throws {
        // "Synthetic" is a file in the existing root: the sequence cannot be moved in after rendering.
        let root = directory.appendingPathComponent("DAVIS")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try Data("in the way".utf8).write(to: root.appendingPathComponent("Synthetic"))
        XCTAssertThrowsError(
            try SequenceWriter.write(Self.small(seed: 1, frames: 2, layout: .davis, name: "s"), to: root)
        ) { error in
            XCTAssertNotNil(error as? SynthError, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["Synthetic"])
    }
}
