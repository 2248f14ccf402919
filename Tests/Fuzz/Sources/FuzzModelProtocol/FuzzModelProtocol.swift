import EarshotModelProtocol

/// libFuzzer entry point: runs `ModelProtocolFuzzChecks.check` on each input (as JSON text, as an audio message and
/// as a stdio stream split several ways); a property violation is reported as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try ModelProtocolFuzzChecks.check(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("FuzzModelProtocol: \(error)")
    }
    return 0
}
