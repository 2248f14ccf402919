# Keeps only the WebRTC flows of a capture (UDP between the ICE candidate ports given as arguments) and at
# most 24 RTP and 8 RTCP datagrams per source port; every STUN and DTLS datagram is kept.
# Usage: python3 filter.py capture.pcap filtered.pcap PORT...
import struct, sys, collections

source, target, ports = sys.argv[1], sys.argv[2], {int(p) for p in sys.argv[3:]}
data = open(source, 'rb').read()
offset, records, counts = 24, [data[:24]], collections.Counter()
while offset < len(data):
    header = data[offset:offset + 16]
    length = struct.unpack('<IIII', header)[2]
    frame = data[offset + 16:offset + 16 + length]
    offset += 16 + length
    ethertype = struct.unpack('!H', frame[12:14])[0]
    udp = frame[14 + (frame[14] & 15) * 4:] if ethertype == 0x0800 else frame[54:]
    sport, dport = struct.unpack('!HH', udp[:4])
    if sport not in ports or dport not in ports:
        continue
    payload = udp[8:]
    first = payload[0]
    kind = 'stun' if first < 4 else 'dtls' if 20 <= first <= 63 else (
        'rtcp' if 64 <= (payload[1] & 0x7F) <= 95 else 'rtp')
    limit = {'stun': 10**6, 'dtls': 10**6, 'rtp': 24, 'rtcp': 8}[kind]
    if counts[(kind, sport)] >= limit:
        continue
    counts[(kind, sport)] += 1
    records.append(header + frame)
open(target, 'wb').write(b''.join(records))
