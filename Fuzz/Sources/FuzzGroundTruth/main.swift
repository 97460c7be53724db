import Evaluation
import Foundation
import FuzzDriver

// Ground truth and result files as text: VOT / OTB ground-truth lines, VOT and OTB toolkit result files.
func fuzzGroundTruth(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        _ = try? GroundTruthParser.votLine(String(line), lineNumber: n + 1, file: "groundtruth.txt")
        _ = try? GroundTruthParser.otbLine(String(line), lineNumber: n + 1, file: "groundtruth_rect.txt")
    }
    if let frames = try? VOTMetrics.parseResult(text) { _ = VOTMetrics.formatResult(frames) }
    if let boxes = try? OTBMetrics.parseResult(text) { _ = OTBMetrics.formatResult(boxes) }
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzGroundTruth(data!, size) })
