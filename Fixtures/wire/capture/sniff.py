import socket, struct, time, sys
out = sys.argv[1]; dur = float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))
s.settimeout(0.2)
f = open(out, 'wb')
f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
end = time.time() + dur; n = 0
while time.time() < end:
    try: data, addr = s.recvfrom(65535)
    except socket.timeout: continue
    if addr[0] != 'lo' and addr[0] != 'eth0': continue
    if addr[2] == socket.PACKET_OUTGOING and addr[0] == 'lo': continue  # lo sees each packet twice
    eth = struct.unpack('!H', data[12:14])[0]
    if eth == 0x0800 and data[23] == 17: pass
    elif eth == 0x86dd and data[20] == 17: pass
    else: continue
    t = time.time(); f.write(struct.pack('<IIII', int(t), int((t % 1) * 1e6), len(data), len(data))); f.write(data); n += 1
f.close(); print("captured", n)
