import EarshotWire

/// libFuzzer entry point: runs `WireFuzzChecks.stun` on each input; a property violation is reported as a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try WireFuzzChecks.stun(UnsafeRawBufferPointer(start: data, count: size))
    } catch {
        fatalError("FuzzSTUN: \(error)")
    }
    return 0
}
