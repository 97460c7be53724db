/// Everything that can go wrong while reading a PyTorch checkpoint. Each malformed input maps to one specific case;
/// `description` is a one-line explanation and `code` a stable identifier (for tests and diagnostics).
public enum PyTorchImportError: Error, Equatable, Sendable, CustomStringConvertible {
    // The file as a whole.
    case fileUnreadable(path: String, reason: String)
    case notACheckpoint(String)
    case fileTruncated(String)

    // ZIP container (torch.save, PyTorch >= 1.6).
    case zipDirectoryCorrupt(String)
    case zipLocalHeaderCorrupt(entry: String, reason: String)
    case zipEntryCompressed(entry: String, method: Int)
    case zipEntryEncrypted(String)
    case zipChecksumMismatch(String)
    case zipRecordMissing(String)

    // Legacy stream (torch.save before 1.6, or _use_new_zipfile_serialization=False).
    case legacyMagicMismatch
    case legacyProtocolUnsupported(String)
    case legacySysInfoInvalid(String)
    case bigEndian
    case legacyStorageListInvalid(String)
    case legacyStorageUnreferenced(String)

    // The restricted unpickler.
    case pickleTruncated(offset: Int)
    case pickleOpcodeUnsupported(opcode: UInt8, offset: Int)
    case pickleProtocolUnsupported(Int)
    case pickleStackUnderflow(opcode: String, offset: Int)
    case pickleMarkMissing(opcode: String, offset: Int)
    case pickleMemoMissing(index: Int, offset: Int)
    case pickleLimitExceeded(what: String, limit: Int, offset: Int)
    case pickleInvalidString(offset: Int)
    case pickleInvalidOperation(opcode: String, detail: String, offset: Int)

    // Torch objects inside the pickle.
    case disallowedGlobal(String)
    case invalidConstructorArguments(callable: String, detail: String)
    case invalidPersistentID(String)
    case storageMissing(String)
    case storageSizeMismatch(key: String, expectedBytes: Int, actualBytes: Int)
    case storageTooSmall(storage: String, neededBytes: Int, availableBytes: Int)

    // The state dict.
    case noStateDict(String)
    case ambiguousStateDict([String])
    case nonStringKey(String)
    case nonTensorValue(key: String, found: String)
    case duplicateKey(String)
    case unsupportedDType(key: String, dtype: String)
    case nonContiguousTensor(key: String, shape: [Int], stride: [Int])
    case stateDictTooLarge(bytes: Int, limit: Int)

    /// A stable, case-specific identifier.
    public var code: String {
        switch self {
        case .fileUnreadable: return "fileUnreadable"
        case .notACheckpoint: return "notACheckpoint"
        case .fileTruncated: return "fileTruncated"
        case .zipDirectoryCorrupt: return "zipDirectoryCorrupt"
        case .zipLocalHeaderCorrupt: return "zipLocalHeaderCorrupt"
        case .zipEntryCompressed: return "zipEntryCompressed"
        case .zipEntryEncrypted: return "zipEntryEncrypted"
        case .zipChecksumMismatch: return "zipChecksumMismatch"
        case .zipRecordMissing: return "zipRecordMissing"
        case .legacyMagicMismatch: return "legacyMagicMismatch"
        case .legacyProtocolUnsupported: return "legacyProtocolUnsupported"
        case .legacySysInfoInvalid: return "legacySysInfoInvalid"
        case .bigEndian: return "bigEndian"
        case .legacyStorageListInvalid: return "legacyStorageListInvalid"
        case .legacyStorageUnreferenced: return "legacyStorageUnreferenced"
        case .pickleTruncated: return "pickleTruncated"
        case .pickleOpcodeUnsupported: return "pickleOpcodeUnsupported"
        case .pickleProtocolUnsupported: return "pickleProtocolUnsupported"
        case .pickleStackUnderflow: return "pickleStackUnderflow"
        case .pickleMarkMissing: return "pickleMarkMissing"
        case .pickleMemoMissing: return "pickleMemoMissing"
        case .pickleLimitExceeded: return "pickleLimitExceeded"
        case .pickleInvalidString: return "pickleInvalidString"
        case .pickleInvalidOperation: return "pickleInvalidOperation"
        case .disallowedGlobal: return "disallowedGlobal"
        case .invalidConstructorArguments: return "invalidConstructorArguments"
        case .invalidPersistentID: return "invalidPersistentID"
        case .storageMissing: return "storageMissing"
        case .storageSizeMismatch: return "storageSizeMismatch"
        case .storageTooSmall: return "storageTooSmall"
        case .noStateDict: return "noStateDict"
        case .ambiguousStateDict: return "ambiguousStateDict"
        case .nonStringKey: return "nonStringKey"
        case .nonTensorValue: return "nonTensorValue"
        case .duplicateKey: return "duplicateKey"
        case .unsupportedDType: return "unsupportedDType"
        case .nonContiguousTensor: return "nonContiguousTensor"
        case .stateDictTooLarge: return "stateDictTooLarge"
        }
    }

    public var description: String {
        switch self {
        case .fileUnreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .notACheckpoint(let why):
            return "not a PyTorch checkpoint (neither a torch.save ZIP archive nor a legacy pickle stream): \(why)"
        case .fileTruncated(let what):
            return "file is truncated: \(what)"
        case .zipDirectoryCorrupt(let why):
            return "corrupt ZIP central directory: \(why)"
        case .zipLocalHeaderCorrupt(let entry, let why):
            return "corrupt ZIP local header of \(entry): \(why)"
        case .zipEntryCompressed(let entry, let method):
            return "ZIP record \(entry) is compressed (method \(method)); torch.save stores records uncompressed"
        case .zipEntryEncrypted(let entry):
            return "ZIP record \(entry) is encrypted"
        case .zipChecksumMismatch(let entry):
            return "ZIP record \(entry) does not match its CRC-32 (the file is damaged)"
        case .zipRecordMissing(let name):
            return "ZIP archive has no \(name) record; not a torch.save archive"
        case .legacyMagicMismatch:
            return "legacy checkpoint does not start with the torch.save magic number 0x1950a86a20f9469cfc6c"
        case .legacyProtocolUnsupported(let found):
            return "legacy checkpoint has protocol version \(found); only 1001 is supported"
        case .legacySysInfoInvalid(let why):
            return "legacy checkpoint's sys_info record is invalid: \(why)"
        case .bigEndian:
            return "checkpoint was written on a big-endian machine; only little-endian checkpoints are supported"
        case .legacyStorageListInvalid(let why):
            return "legacy checkpoint's storage key list is invalid: \(why)"
        case .legacyStorageUnreferenced(let key):
            return "legacy checkpoint lists storage \(key), which no tensor references, so its size is unknown"
        case .pickleTruncated(let offset):
            return "pickle is truncated at byte \(offset) (no STOP opcode reached)"
        case .pickleOpcodeUnsupported(let op, let offset):
            return "unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(offset)"
        case .pickleProtocolUnsupported(let version):
            return "pickle protocol \(version) is not supported (2 to 5 are)"
        case .pickleStackUnderflow(let op, let offset):
            return "pickle stack underflow at \(op) (byte \(offset))"
        case .pickleMarkMissing(let op, let offset):
            return "pickle opcode \(op) at byte \(offset) needs a MARK, and none is on the stack"
        case .pickleMemoMissing(let index, let offset):
            return "pickle memo index \(index) read at byte \(offset) was never stored"
        case .pickleLimitExceeded(let what, let limit, let offset):
            return "pickle exceeds the \(what) limit of \(limit) at byte \(offset)"
        case .pickleInvalidString(let offset):
            return "pickle string at byte \(offset) is not valid UTF-8"
        case .pickleInvalidOperation(let op, let detail, let offset):
            return "invalid pickle operation \(op) at byte \(offset): \(detail)"
        case .disallowedGlobal(let name):
            return "the state dict uses the global \(name), which this reader does not allow (nothing was executed)"
        case .invalidConstructorArguments(let callable, let detail):
            return "invalid arguments to \(callable): \(detail)"
        case .invalidPersistentID(let why):
            return "invalid persistent id (storage reference): \(why)"
        case .storageMissing(let key):
            return "storage \(key) is referenced but missing from the checkpoint"
        case .storageSizeMismatch(let key, let expected, let actual):
            return "storage \(key) holds \(actual) bytes, its reference declares \(expected)"
        case .storageTooSmall(let storage, let needed, let available):
            return "tensor view needs \(needed) bytes of storage \(storage), which holds only \(available)"
        case .noStateDict(let why):
            return "no state dict found: \(why)"
        case .ambiguousStateDict(let keys):
            return "several top-level entries could be the state dict: \(keys.joined(separator: ", "))"
        case .nonStringKey(let what):
            return "state dict key is not a string: \(what)"
        case .nonTensorValue(let key, let found):
            return "state dict entry \(key) is a \(found), not a tensor"
        case .duplicateKey(let key):
            return "state dict key \(key) occurs twice after removing the 'module.' prefix"
        case .unsupportedDType(let key, let dtype):
            return "state dict entry \(key) has dtype \(dtype), which this project's tensors cannot hold"
        case .nonContiguousTensor(let key, let shape, let stride):
            return
                "state dict entry \(key) is a strided view (shape \(shape), stride \(stride)) with more elements than its storage; refusing to expand it"
        case .stateDictTooLarge(let bytes, let limit):
            return
                "the state dict's tensors would take \(bytes == Int.max ? "more than \(limit)" : String(bytes)) bytes, over the limit of \(limit) (many keys sharing one storage?)"
        }
    }
}
