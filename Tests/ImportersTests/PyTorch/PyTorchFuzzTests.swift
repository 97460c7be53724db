import Foundation
import Importers
import TestSupport
import XCTest

/// Seeded random mutations of small checkpoints: every mutant must either decode or throw a PyTorchImportError
/// (never crash, hang or throw anything else). Runs a few thousand mutants in well under a second per thousand.
final class PyTorchFuzzTests: XCTestCase {
    private enum Outcome { case decoded, rejected }

    private func mutate(_ input: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
        var b = input
        let edits = Int.random(in: 1...4, using: &rng)
        for _ in 0..<edits {
            guard !b.isEmpty else { return b }
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0: b[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)   // bit flip
            case 1: b[i] = UInt8.random(in: 0...255, using: &rng)   // random byte
            case 2: b[i] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe].randomElement(using: &rng)!   // boundary byte
            case 3: b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...16, using: &rng)))   // delete
            case 4:
                b.insert(
                    contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                        UInt8.random(in: 0...255, using: &rng)
                    }, at: i)
            case 5: b = Array(b.prefix(i))   // truncate
            case 6:   // 32-bit field set to an extreme
                if i + 4 <= b.count {
                    let v: UInt32 = [0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 0, 0x0001_0000].randomElement(using: &rng)!
                    for k in 0..<4 { b[i + k] = UInt8((v >> (8 * UInt32(k))) & 0xff) }
                }
            case 7:   // duplicate a chunk
                let n = min(b.count - i, Int.random(in: 1...32, using: &rng))
                b.insert(contentsOf: b[i..<(i + n)], at: Int.random(in: 0...b.count, using: &rng))
            default:   // swap two bytes
                let j = Int.random(in: 0..<b.count, using: &rng)
                b.swapAt(i, j)
            }
        }
        return b
    }

    private func fuzz(
        _ seedInput: [UInt8], label: String, iterations: Int, seed: UInt64,
        options: PyTorchCheckpoint.Options = .init()
    ) -> (decoded: Int, rejected: Int) {
        var rng = SeededGenerator(seed: seed)
        var decoded = 0, rejected = 0
        XCTAssertNoThrow(
            try PyTorchCheckpoint.decode(seedInput, name: label, options: options),
            "\(label): the seed input must decode")
        for n in 0..<iterations {
            let mutant = mutate(seedInput, &rng)
            do {
                let c = try PyTorchCheckpoint.decode(mutant, name: label, options: options)
                // Whatever decodes must be self-consistent.
                XCTAssertEqual(Set(c.keyOrder), Set(c.stateDict.keys), "\(label) #\(n)")
                XCTAssertEqual(c.keyOrder.count, c.stateDict.count, "\(label) #\(n)")
                decoded += 1
            } catch is PyTorchImportError {
                rejected += 1
            } catch {
                XCTFail("\(label) mutant #\(n) threw a non-PyTorchImportError: \(error)")
            }
        }
        return (decoded, rejected)
    }

    func testMutatedHandMadeCheckpoints() {
        let cp = TestCheckpoint.wrapped()
        let noCRC = PyTorchCheckpoint.Options(verifyChecksums: false)
        var total = 0
        for (label, bytes, options, seed) in [
            ("zip", cp.zip().bytes, PyTorchCheckpoint.Options(), UInt64(1)),
            ("zip-no-crc", cp.zip().bytes, noCRC, 2),
            ("zip64-no-crc", cp.zip(zip64: true).bytes, noCRC, 3),
            ("legacy", cp.legacyStream().bytes, PyTorchCheckpoint.Options(), 4),
        ] {
            let r = fuzz(bytes, label: label, iterations: 600, seed: seed, options: options)
            XCTAssertGreaterThan(r.rejected, 0, label)
            total += r.decoded + r.rejected
        }
        XCTAssertEqual(total, 2400)
    }

    func testMutatedRealTorchFiles() {
        let noCRC = PyTorchCheckpoint.Options(verifyChecksums: false)
        for (label, bytes, seed) in [
            ("viewsZipP5", PTEmbeddedCheckpoints.viewsZipP5, UInt64(11)),
            ("viewsLegacyP2", PTEmbeddedCheckpoints.viewsLegacyP2, 12),
            ("ignoredZipP2", PTEmbeddedCheckpoints.ignoredZipP2, 13),
            ("ignoredLegacyP4", PTEmbeddedCheckpoints.ignoredLegacyP4, 14),
        ] {
            let r = fuzz(bytes, label: label, iterations: 500, seed: seed, options: noCRC)
            XCTAssertGreaterThan(r.rejected, 0, label)
        }
    }

    /// Mutations confined to the object pickle of a legacy stream, where they reach the unpickler most often.
    func testMutatedLegacyObjectPickle() {
        let stream = TestCheckpoint.wrapped().legacyStream()
        var rng = SeededGenerator(seed: 99)
        var rejected = 0
        for n in 0..<1000 {
            var s = stream
            s.object = mutate(stream.object, &rng)
            do {
                _ = try PyTorchCheckpoint.decode(s.bytes, name: "legacy-object")
            } catch is PyTorchImportError {
                rejected += 1
            } catch {
                XCTFail("mutant #\(n) threw a non-PyTorchImportError: \(error)")
            }
        }
        XCTAssertGreaterThan(rejected, 0)
    }
}
