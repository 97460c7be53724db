import Evaluation
import Foundation
import FuzzDriver

// The sequence-layout reader on real folders: byte 0 picks the layout (VOT frames beside groundtruth.txt, VOT with
// color/, OTB img/ + groundtruth_rect.txt, synthetic with masks/), byte 1 the frame count (1...8, empty image files:
// layout detection never decodes them), the rest is the ground-truth file. One folder per process, reused.
private let root: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-sequence-\(getpid())")
    atexit {
        try? FileManager.default.removeItem(
            at: FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-sequence-\(getpid())"))
    }
    return url
}()

func fuzzSequence(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let fm = FileManager.default
    try? fm.removeItem(at: root)
    let layout = Int(data[0] % 4), frameCount = Int(data[1] % 8) + 1
    let text = Data(UnsafeBufferPointer(start: data + 2, count: size - 2))
    let sequence = root.appendingPathComponent("seq")
    let frames: URL
    let groundTruth: String
    switch layout {
    case 0: frames = sequence; groundTruth = "groundtruth.txt"
    case 1: frames = sequence.appendingPathComponent("color"); groundTruth = "groundtruth.txt"
    case 2: frames = sequence.appendingPathComponent("img"); groundTruth = "groundtruth_rect.txt"
    default: frames = sequence; groundTruth = "groundtruth.txt"
    }
    do {
        try fm.createDirectory(at: frames, withIntermediateDirectories: true)
        if layout == 3 {
            try fm.createDirectory(at: sequence.appendingPathComponent("masks"), withIntermediateDirectories: true)
        }
        for i in 1...frameCount {
            let name = String(format: "%08d", i)
            _ = fm.createFile(atPath: frames.appendingPathComponent(name + ".jpg").path, contents: Data())
            if layout == 3, i % 2 == 1 {
                _ = fm.createFile(atPath: sequence.appendingPathComponent("masks/\(name).png").path, contents: Data())
            }
        }
        try text.write(to: sequence.appendingPathComponent(groundTruth))
    } catch {
        fatalError("fuzz-sequence: cannot write the scratch folder: \(error)")
    }
    _ = try? SequenceReader.open(sequence)
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzSequence(data!, size) })
