#!/usr/bin/env python3
# Writes the seed corpora under Tests/Fuzz/Corpus/<Target>/: the UDP datagrams of the real Chromium call
# (Fixtures/wire/chromium-loopback-audio.pcap, see Fixtures/wire/README.md), the SDP fixtures, the RFC 5769 STUN
# vectors, hand-made packets for what the capture lacks (RTCP types, extension forms, Opus framings) and model
# protocol messages and stdio streams (Docs/model-protocol.md).
# Deterministic: re-running it rewrites the same files. Usage: python3 Tests/Fuzz/make-seeds.py
import hashlib, hmac, json, os, shutil, struct, zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.normpath(os.path.join(here, '..', '..'))
corpus = os.path.join(here, 'Corpus')


def write(target, name, data):
    directory = os.path.join(corpus, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), 'wb') as f:
        f.write(data)


def unhex(text):
    return bytes.fromhex(''.join(text.split()))


def udp_payloads(path):
    """The UDP payloads of a little-endian pcap with Ethernet framing over IPv4 or IPv6."""
    data = open(path, 'rb').read()
    assert data[:4] == b'\xd4\xc3\xb2\xa1', 'expected a little-endian pcap'
    offset, payloads = 24, []
    while offset + 16 <= len(data):
        length = struct.unpack('<IIII', data[offset:offset + 16])[2]
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        ethertype = struct.unpack('!H', frame[12:14])[0]
        udp = frame[14 + (frame[14] & 15) * 4:] if ethertype == 0x0800 else frame[54:]
        udp_length = struct.unpack('!H', udp[4:6])[0]
        payloads.append(udp[8:udp_length])
    return payloads


def kind(payload):
    """RFC 7983 §7 by the first byte; RTP versus RTCP by the second (RFC 5761 §4)."""
    first = payload[0]
    if first <= 3:
        return 'stun'
    if 20 <= first <= 63:
        return 'dtls'
    if 128 <= first <= 191 and len(payload) >= 2:
        return 'rtcp' if 64 <= (payload[1] & 0x7F) <= 95 else 'rtp'
    return 'other'


# STUN (RFC 8489) -------------------------------------------------------------------------------------------------

COOKIE = 0x2112A442
RFC5769_PASSWORD = b'VOkJxbRl1RmTxUk/WvJxBt'


def stun_attribute(kind_, value):
    return struct.pack('!HH', kind_, len(value)) + value + b'\0' * (-len(value) % 4)


def stun_message(message_type, transaction, attributes, key=None, fingerprint=False, sha256_key=None,
                 sha256_first=True):
    """A STUN message; MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT computed as RFC 8489 §14.5-14.7 say, the two
    integrity attributes in the order asked for (RFC 8489 keeps MESSAGE-INTEGRITY-SHA256 after MESSAGE-INTEGRITY
    and ignores a MESSAGE-INTEGRITY after MESSAGE-INTEGRITY-SHA256)."""
    body = b''.join(attributes)

    def header(extra):
        return struct.pack('!HHI', message_type, len(body) + extra, COOKIE) + transaction

    def add_sha256():
        nonlocal body
        if sha256_key is not None:
            body += stun_attribute(0x001C, hmac.new(sha256_key, header(36) + body, hashlib.sha256).digest())

    def add_sha1():
        nonlocal body
        if key is not None:
            body += stun_attribute(0x0008, hmac.new(key, header(24) + body, hashlib.sha1).digest())

    for add in ((add_sha256, add_sha1) if sha256_first else (add_sha1, add_sha256)):
        add()
    if fingerprint:
        crc = zlib.crc32(header(8) + body) ^ 0x5354554E
        body += stun_attribute(0x8028, struct.pack('!I', crc))
    return header(0) + body


RFC5769 = {
    # RFC 5769 §2.1-2.4, byte for byte (the 0x20 padding bytes are the RFC's own).
    'rfc5769-2.1-request': '''
        00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
        00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36
        00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
        00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
        80 28 00 04 e5 7a 3b cf''',
    'rfc5769-2.2-ipv4-response': '''
        01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 08 00 01 a1 47 e1 12 a6 43
        00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
        80 28 00 04 c0 7d 4c 96''',
    'rfc5769-2.3-ipv6-response': '''
        01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
        80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
        00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
        00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
        80 28 00 04 c8 fb 0b 4c''',
    'rfc5769-2.4-long-term-request': '''
        00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e
        00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00
        00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41
        00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00
        00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66''',
}


def stun_seeds():
    transaction = bytes(range(1, 13))
    xor_v4 = stun_attribute(0x0020, struct.pack('!BBH', 0, 1, 3478 ^ (COOKIE >> 16))
                            + struct.pack('!I', 0xC0000201 ^ COOKIE))
    seeds = {
        # Every attribute the parser decodes, signed with the RFC 5769 password so integrity verifies.
        'hand-binding-request-all-attributes': stun_message(0x0001, transaction, [
            stun_attribute(0x0006, b'abcd:efgh'),
            stun_attribute(0x0024, struct.pack('!I', 0x6E0001FF)),
            stun_attribute(0x0025, b''),
            stun_attribute(0x802A, struct.pack('!Q', 0x0102030405060708)),
            stun_attribute(0x8022, b'earshot'),
            stun_attribute(0x7777, b'unknown comprehension-required'),
            stun_attribute(0xC057, struct.pack('!I', 1)),
        ], key=RFC5769_PASSWORD, fingerprint=True),
        'hand-success-response-ipv4': stun_message(0x0101, transaction, [xor_v4], key=RFC5769_PASSWORD,
                                                   fingerprint=True),
        'hand-error-response-420': stun_message(0x0111, transaction, [
            stun_attribute(0x0009, struct.pack('!HBB', 0, 4, 20) + b'Unknown Attribute'),
            stun_attribute(0x000A, struct.pack('!HH', 0x7777, 0x0030)),
            stun_attribute(0x0001, struct.pack('!BBH', 0, 1, 3478) + bytes([192, 0, 2, 1])),
        ], key=RFC5769_PASSWORD, fingerprint=True),
        'hand-integrity-sha256': stun_message(0x0001, transaction, [
            stun_attribute(0x0006, b'abcd:efgh'),
            stun_attribute(0x0014, b'example.org'),
            stun_attribute(0x0015, b'nonce-value'),
        ], sha256_key=RFC5769_PASSWORD, key=RFC5769_PASSWORD, fingerprint=True),
        'hand-integrity-then-sha256': stun_message(0x0001, transaction, [
            stun_attribute(0x0006, b'abcd:efgh'),
        ], key=RFC5769_PASSWORD, sha256_key=RFC5769_PASSWORD, sha256_first=False, fingerprint=True),
        'hand-binding-indication': stun_message(0x0011, transaction, [], fingerprint=True),
    }
    return seeds


# RTP (RFC 3550, RFC 8285) ----------------------------------------------------------------------------------------

def rtp_packet(payload_type, sequence, timestamp, ssrc, payload, csrcs=(), extension=None, padding=0, marker=False):
    first = 0x80 | (0x20 if padding else 0) | (0x10 if extension else 0) | len(csrcs)
    out = struct.pack('!BBHII', first, (0x80 if marker else 0) | payload_type, sequence, timestamp, ssrc)
    out += b''.join(struct.pack('!I', c) for c in csrcs)
    if extension:
        profile, data = extension
        data += b'\0' * (-len(data) % 4)
        out += struct.pack('!HH', profile, len(data) // 4) + data
    out += payload
    if padding:
        out += b'\0' * (padding - 1) + bytes([padding])
    return out


def rtp_seeds():
    one_byte = (0xBEDE, bytes([0x10, 0xBA]) + bytes([0x22, 0x12, 0x34, 0x56]) + bytes([0x31, 0x00, 0x2A])
                + bytes([0x40]) + b'0' + bytes([0x00, 0x77, 0x07]) + bytes(range(8)))
    two_byte = (0x1000, bytes([0x01, 0x01, 0xBA, 0x00, 0x05, 0x03]) + b'abc' + bytes([0xFF, 0x00]))
    return {
        'hand-csrcs-one-byte-extension-padding': rtp_packet(111, 1, 960, 0x11223344, b'\xfc' + b'\x01' * 40,
                                                            csrcs=(1, 2, 3), extension=one_byte, padding=4),
        'hand-two-byte-extension': rtp_packet(111, 65535, 0xFFFFFFFF, 1, b'\x78' * 20, extension=two_byte,
                                              marker=True),
        'hand-other-profile-extension': rtp_packet(0, 2, 160, 2, b'\xff' * 160, extension=(0x1234, b'\0' * 8)),
        'hand-minimal': rtp_packet(96, 0, 0, 0, b''),
    }


# RTCP (RFC 3550 §6, RFC 4585, transport-wide CC) -----------------------------------------------------------------

def rtcp_packet(count, packet_type, body, padding=0):
    body += b'\0' * (-len(body) % 4)
    if padding:
        body += b'\0' * (padding - 1) + bytes([padding])
    return struct.pack('!BBH', 0x80 | (0x20 if padding else 0) | count, packet_type, len(body) // 4) + body


def report_block(ssrc):
    return struct.pack('!IIIIII', ssrc, 0x05FFFFFE, 0x00010203, 42, 0x12345678, 65536)


def sdes(chunks):
    body = b''
    for ssrc, items in chunks:
        chunk = struct.pack('!I', ssrc) + b''.join(bytes([t, len(v)]) + v for t, v in items) + b'\0'
        body += chunk + b'\0' * (-len(chunk) % 4)
    return rtcp_packet(len(chunks), 202, body)


def rtcp_seeds():
    ssrc, media = 844762064, 0x01020304
    sender_report = rtcp_packet(1, 200, struct.pack('!IQIII', ssrc, 0xE9A1B2C3D4E5F607, 123456, 50, 8000)
                                + report_block(media))
    receiver_report = rtcp_packet(2, 201, struct.pack('!I', ssrc) + report_block(media) + report_block(7))
    # Transport-wide CC: base 100, 9 statuses: a run-length chunk of 4 small deltas, a two-bit vector with a large
    # delta and a lost packet, then the deltas.
    twcc_body = struct.pack('!IIHHI', ssrc, media, 100, 9, (0x000102 << 8) | 7)
    twcc_body += struct.pack('!HH', 0x2004, 0xC000 | (1 << 12) | (2 << 10) | (0 << 8) | (1 << 6) | (1 << 4))
    twcc_body += bytes([1, 2, 3, 4, 5]) + struct.pack('!h', -300) + bytes([6, 7])
    return {
        'hand-sr-sdes': sender_report + sdes([(ssrc, [(1, b'chromium-cname-0123')])]),
        'hand-rr-sdes-bye': receiver_report + sdes([(ssrc, [(1, b'x'), (6, b'tool')]), (media, [])])
                            + rtcp_packet(1, 203, struct.pack('!I', ssrc) + bytes([7]) + b'leaving'),
        'hand-nack-pli': rtcp_packet(1, 205, struct.pack('!IIHH', ssrc, media, 1000, 0x8001))
                         + rtcp_packet(1, 206, struct.pack('!II', ssrc, media)),
        'hand-twcc': rtcp_packet(15, 205, twcc_body),
        'hand-remb-app-xr-padded': rtcp_packet(15, 206, struct.pack('!II', ssrc, 0) + b'REMB' + bytes([1, 0x0A, 0, 0])
                                               + struct.pack('!I', media))
                                   + rtcp_packet(3, 204, struct.pack('!I', ssrc) + b'name' + b'data')
                                   + rtcp_packet(0, 207, struct.pack('!I', ssrc) + bytes([4, 0, 0, 2]) + b'\0' * 8,
                                                 padding=4),
    }


# Opus (RFC 6716 §3) ----------------------------------------------------------------------------------------------

def opus_seeds():
    toc = lambda config, stereo, code: bytes([config << 3 | (4 if stereo else 0) | code])
    return {
        'code0-celt-fb-20ms': toc(31, False, 0) + bytes(range(60)),
        'code0-silk-nb-dtx': toc(1, False, 0),
        'code1-hybrid-swb-stereo': toc(13, True, 1) + b'\x11' * 40,
        'code2-two-byte-length': toc(9, False, 2) + bytes([252, 1]) + b'\x22' * 256 + b'\x33' * 10,
        'code3-cbr-padding': toc(27, False, 3) + bytes([0x40 | 3, 255, 2]) + b'\x44' * 30 + b'\0' * 256,
        'code3-vbr-6-frames': toc(16, True, 3) + bytes([0x80 | 6, 5, 0, 253, 1, 7, 1]) + b'\x55' * (5 + 257 + 7 + 1 + 9),
    }


# Model protocol (Docs/model-protocol.md) -------------------------------------------------------------------------

def model_frame(kind_, body):
    """One stdio frame: length (kind + body, u32 big-endian), kind, body."""
    return struct.pack('!IB', len(body) + 1, kind_) + body


def model_audio(type_, flags, sequence, media_time, relay_time, payload):
    """An audio message: the 24-byte big-endian header, then the payload."""
    return struct.pack('!BBHIQQ', type_, flags, 0, sequence, media_time, relay_time) + payload


def sidecar_frame(kind_, session_id, body):
    """One frame of the sidecar's multiplexed stdio: length (kind, id length, id, body), kind, id length, id, body."""
    ident = session_id.encode('ascii')
    return struct.pack('!IBB', len(body) + 2 + len(ident), kind_, len(ident)) + ident + body


def pcm16(samples):
    return struct.pack('<%dh' % len(samples), *samples)


def model_protocol_seeds():
    """Every JSON example of the protocol's documentation, audio messages of both types and stdio streams of both
    directions written here independently of the Swift encoder, and frames the decoder must skip or reject."""
    page = open(os.path.join(root, 'Docs', 'model-protocol.md'), encoding='utf-8').read()
    examples = [block.split('\n```', 1)[0].encode() for block in page.split('```json\n')[1:]]
    seeds = {}
    for index, text in enumerate(examples):
        seeds['json-%02d-%s' % (index, json.loads(text)['type'])] = text
    seeds['json-pretty-unknown-member'] = (b'{ "type": "played", "response_id": 18446744073709551615, "played_ms": 1e3,'
                                           b' "played_samples": 16000, "truncated": false, "x": [null, {"y": "\\ud834\\udd1e\\n"}] }')
    speech = pcm16([0, 1, -1, 1000, -32768, 32767])
    inputs = [model_audio(1, flags, sequence, sequence * 320, 0 if flags & 1 else 161250 + sequence * 20000, speech)
              for sequence, flags in ((0, 0), (1, 1), (2, 2), (3, 4), (4, 7))]
    outputs = [model_audio(2, 0, sequence, 7, 0, speech * (sequence + 1)) for sequence in range(3)]
    seeds['audio-input'] = inputs[0]
    seeds['audio-input-concealed'] = inputs[1]
    seeds['audio-output'] = outputs[0]
    seeds['audio-output-empty'] = model_audio(2, 0, 9, 0, 0, b'')
    seeds['audio-output-opus'] = model_audio(2, 0, 1, 3, 0, bytes([0x78, 0x01, 0x02, 0x03]))
    relay_side = [examples[0], b'{"type":"speech_started","audio_start_ms":700}', b'{"type":"stats","uplink":{"jitter":0.004}}',
                  b'{"type":"mark_played","name":"turn-1-end","played_at_ms":4584}', b'{"type":"stop","reason":"client_hangup"}']
    seeds['frames-relay-to-model'] = b''.join(
        [model_frame(1, relay_side[0])] + [model_frame(2, audio) for audio in inputs]
        + [model_frame(1, text) for text in relay_side[1:]])
    model_side = [b'{"type":"session.ready","output_audio_format":{"encoding":"pcm16","sample_rate":16000}}',
                  b'{"type":"mark","name":"turn-1-end"}', b'{"type":"response.done","response_id":7}', b'{"type":"clear"}']
    seeds['frames-model-to-relay'] = b''.join(
        [model_frame(1, model_side[0])] + [model_frame(2, audio) for audio in outputs]
        + [model_frame(1, text) for text in model_side[1:]])
    seeds['frames-doc-clear'] = model_frame(1, b'{"type":"clear"}')
    seeds['frames-doc-audio'] = model_frame(2, model_audio(1, 1, 3, 960, 61250, pcm16([0, 1, -1, 1000])))
    clear = model_frame(1, b'{"type":"clear"}')
    seeds['bad-empty-and-unknown-kind'] = struct.pack('!I', 0) + model_frame(3, b'future') + clear
    seeds['bad-content'] = (model_frame(1, b'{"type":"response.create"}') + model_frame(1, b'{"type":"mark"}')
                            + model_frame(1, b'[1,2') + model_frame(2, b'\x09' + bytes(23)) + clear)
    seeds['bad-too-large'] = struct.pack('!IB', 1048578, 2) + bytes(16)
    seeds['bad-stray-print'] = b'hello\n' + clear
    # The sidecar's multiplexed framing (`earshot serve --model stdio`), both directions, two sessions interleaved.
    ready = b'{"type":"relay.ready","protocol":"earshot-model/1","http":"127.0.0.1:8080","udp":"127.0.0.1:50000"}'
    seeds['sidecar-relay-to-model'] = (sidecar_frame(1, '', ready) + sidecar_frame(1, 'a1', relay_side[0])
                                       + sidecar_frame(1, 'b2', relay_side[0]) + sidecar_frame(2, 'a1', inputs[0])
                                       + sidecar_frame(2, 'b2', inputs[1]) + sidecar_frame(1, 'a1', relay_side[4]))
    seeds['sidecar-model-to-relay'] = (sidecar_frame(1, 'b2', model_side[0]) + sidecar_frame(2, 'b2', outputs[0])
                                       + sidecar_frame(1, 'b2', model_side[3]) + sidecar_frame(1, 'zz', model_side[1]))
    seeds['sidecar-doc-clear'] = sidecar_frame(1, 'a1', b'{"type":"clear"}')
    seeds['sidecar-bad-ids'] = (struct.pack('!IBB', 3, 1, 5) + b'a' + struct.pack('!IBB', 4, 1, 1) + b'\xc3{'
                                + sidecar_frame(1, 'ok', b'{"type":"clear"}'))
    return seeds


def main():
    if os.path.isdir(corpus):
        shutil.rmtree(corpus)
    payloads = udp_payloads(os.path.join(root, 'Fixtures', 'wire', 'chromium-loopback-audio.pcap'))
    seen = {'stun': 0, 'rtp': 0, 'rtcp': 0, 'dtls': 0, 'other': 0}
    for payload in payloads:
        k = kind(payload)
        index = seen[k]
        seen[k] += 1
        name = 'capture-%s-%02d' % (k, index)
        if k == 'stun':
            write('FuzzSTUN', name, payload)
        elif k == 'rtp':
            write('FuzzRTP', name, payload)
        elif k == 'rtcp':
            write('FuzzRTCP', name, payload)  # SRTCP: only the first 8 bytes are in the clear
        if index < 4:  # a few of each kind, DTLS included, for the demultiplexer
            write('FuzzDemux', name, payload)

    for name, text in RFC5769.items():
        write('FuzzSTUN', name, unhex(text))
    for target, seeds in (('FuzzSTUN', stun_seeds()), ('FuzzRTP', rtp_seeds()), ('FuzzRTCP', rtcp_seeds()),
                          ('FuzzOpusTOC', opus_seeds())):
        for name, data in seeds.items():
            write(target, name, data)
            if target != 'FuzzOpusTOC':
                write('FuzzDemux', name, data)

    for name, data in model_protocol_seeds().items():
        write('FuzzModelProtocol', name, data)

    for directory in (os.path.join(root, 'Fixtures', 'sdp'), os.path.join(root, 'Fixtures', 'wire')):
        for name in sorted(os.listdir(directory)):
            if name.endswith('.sdp'):
                write('FuzzSDP', name, open(os.path.join(directory, name), 'rb').read())

    total = 0
    for target in sorted(os.listdir(corpus)):
        files = os.listdir(os.path.join(corpus, target))
        size = sum(os.path.getsize(os.path.join(corpus, target, f)) for f in files)
        total += size
        print('%-12s %3d files %7d bytes' % (target, len(files), size))
    print('total %d bytes' % total)


if __name__ == '__main__':
    main()
