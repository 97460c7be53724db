import Foundation
import FuzzDriver
import Importers

// The ONNX importer: protobuf-c decoding under its memory budget, our model conversion, graph analysis and the
// structure matching onto the SiamMask architecture. The budget base is lowered from 64 MiB to 16 MiB to keep runs
// fast; the rule (a multiple of the input size plus a constant) is the product's.
func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    var options = ONNXImportOptions()
    options.limits.decodeBudgetBase = 16 << 20
    _ = try? ONNXImporter.importWeights(from: [(file: "fuzz.onnx", bytes: bytes)], options: options)
    return 0
}

exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzONNX(data!, size) })
