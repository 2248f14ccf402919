/// Earshot's wire formats: STUN for ICE, RTP with its header extensions, RTCP, RFC 7983 demultiplexing and
/// Opus packet framing, plus the bounds-checked byte reader/writer and the small hashes STUN needs.
///
/// Everything here is pure Swift and sans-IO: parsers take buffers and return values or typed errors,
/// serializers append to a ``ByteWriter``; nothing reads a clock, opens a socket or starts a thread.
public enum EarshotWire {}
