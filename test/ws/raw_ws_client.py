"""An independent WebSocket client (Python stdlib only, RFC 6455 by hand) for the live-push tests.

Usage: raw_ws_client.py <host> <port> <subscribe-json> <seconds>
Prints every text frame it receives, one per line, and answers pings; exits after <seconds>
or when stdin closes.
"""
import base64, json, os, select, socket, struct, sys, time

host, port, subscribe, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
sock = socket.create_connection((host, port))
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += sock.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 101"), head

def send(opcode, payload):
    mask = os.urandom(4)
    n = len(payload)
    header = bytes([0x80 | opcode]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack("!Q", n))
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

send(1, subscribe.encode())
deadline = time.time() + seconds
message = b""
while time.time() < deadline:
    r, _, _ = select.select([sock, sys.stdin], [], [], 0.1)
    if sys.stdin in r and not sys.stdin.readline():
        break
    if sock in r:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    while len(buf) >= 2:
        fin, opcode, n = buf[0] & 0x80, buf[0] & 0x0F, buf[1] & 0x7F
        at = 2
        if n == 126:
            if len(buf) < 4: break
            n, at = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10: break
            n, at = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < at + n: break
        payload, buf = buf[at:at + n], buf[at + n:]
        if opcode == 9:
            send(10, payload)
        elif opcode == 8:
            sys.exit(0)
        elif opcode in (0, 1):
            message += payload
            if fin:
                print(json.dumps(json.loads(message.decode())), flush=True)
                message = b""
