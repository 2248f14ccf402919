import EarshotModelBridge

/// libFuzzer entry point: a model's stdout (stdio frames) into one session's bridge on virtual time
/// (`ModelBridgeFuzzChecks.check`); a property violation is reported as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try ModelBridgeFuzzChecks.check(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("FuzzModelBridge: \(error)")
    }
    return 0
}
