import Foundation
import FuzzDriver
import Importers
import SiamMaskLayout

// The PyTorch reader (zip and legacy containers, the restricted unpickler, tensor rebuilding), then the mapping of
// the state dict onto the architecture. ZIP CRCs are not checked so that mutations reach the pickle; the state dict
// is capped at 4 MiB (the seeds are tiny) to keep each run fast; every other limit is the default.
func fuzzPTH(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    var limits = PyTorchCheckpoint.Limits()
    limits.maxStateDictBytes = 4 << 20
    let options = PyTorchCheckpoint.Options(verifyChecksums: false, limits: limits)
    guard let checkpoint = try? PyTorchCheckpoint.decode(bytes, name: "fuzz.pth", options: options) else { return 0 }
    _ = try? Canonicalizer.canonicalize(stateDict: checkpoint.stateDict)
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzPTH(data!, size) })
