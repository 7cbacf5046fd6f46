"""Independent (non-Node) fedmsg publisher for the benchmarks: /usr/bin/python3 with python3-zmq.

  publisher.py ENDPOINT COUNT RATE MODE [SAMPLES [MORE]]
    ENDPOINT  tcp://127.0.0.1:port; connects when MODE ends in "-connect", else binds
    COUNT     messages to send (0: until stdin closes)
    RATE      messages per second (0: as fast as possible)
    MODE      ingest | ingest-connect | push-connect
              ingest*: the real fixture samples, unique msg_id, timestamps spread over the last hour,
                       each sent as fedmsg sends it: compact JSON with sorted keys
              push*:   one category ("benchpush"), one fixed bucket, so the view's volume counts them
    MORE      (ingest, COUNT > 0) after the COUNT messages and their JSON line, wait for a second
              line on stdin ("more"), then send MORE messages more and print a second JSON line:
              the steady-state window after a warm-up. Their msg_ids follow on; their timestamps
              spread over the same last hour (those of the first COUNT are as without MORE)
BENCH_SIGNED=1 (ingest*): every sample carries the certificate and signature of the first signed
one, as production fedmsg signs nearly every message (the fixtures sign 2 of 510).
Prints "ready" once the socket is up, waits for "go" on stdin, publishes, then prints one JSON
line: {"sent": n, "seconds": s, "send_times_ms": [...] (push only, epoch ms)}.
"""
import json
import os
import sys
import time

import zmq

endpoint, count, rate, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
samples_path = sys.argv[5] if len(sys.argv) > 5 else None
more = int(sys.argv[6]) if len(sys.argv) > 6 and count > 0 and mode.startswith("ingest") else 0
ctx = zmq.Context()
sock = ctx.socket(zmq.PUB)
sock.setsockopt(zmq.SNDHWM, 0)  # never drop: a slow subscriber makes the publisher queue, not lose
sock.setsockopt(zmq.LINGER, -1)
if mode.endswith("-connect"):
    sock.connect(endpoint)
else:
    sock.bind(endpoint)

now = int(time.time())


def wire(envelope):
    """As fedmsg puts an envelope on the bus: compact JSON with sorted keys (spec/fedmsg.md)."""
    return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()


frames = []
if mode.startswith("ingest"):
    samples = [json.loads(l) for l in open(samples_path) if l.strip()]
    if os.environ.get("BENCH_SIGNED") == "1":
        signed = next(s for s in samples if isinstance(s.get("certificate"), str) and isinstance(s.get("signature"), str))
        samples = [dict(s, certificate=signed["certificate"], signature=signed["signature"]) for s in samples]
    n = count if count > 0 else 100_000
    # All within the last hour, so /api/messages-last-24h counts every one of them.
    for i in range(n):
        s = samples[i % len(samples)]
        e = dict(s, timestamp=round(now - 3600 + i * 3600 / n, 3), msg_id="bench-%d-%d" % (now, i))
        frames.append((s["topic"].encode(), wire(e)))
    # The window's messages: new ids, and timestamps over the same hour again (the first n keep
    # theirs, so the warm-up part is what a run without MORE sends).
    for j in range(more):
        s = samples[(n + j) % len(samples)]
        e = dict(s, timestamp=round(now - 3600 + j * 3600 / more, 3), msg_id="bench-%d-%d" % (now, n + j))
        frames.append((s["topic"].encode(), wire(e)))

print("ready", flush=True)
sys.stdin.readline()

# The loop stays at module level (global lookups, as before MORE existed), so the publisher's
# pace is what the earlier figures were measured with.
for first, count in [(0, count)] + ([(count, more)] if more > 0 else []):
    if first > 0:
        sys.stdin.readline()
    send_times = []
    t0 = time.time()
    interval = 1.0 / rate if rate > 0 else 0.0
    i = 0
    while count == 0 or i < count:
        if interval:
            due = t0 + i * interval
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
        if mode.startswith("push"):
            body = wire({"topic": "org.fedoraproject.prod.benchpush.tick", "timestamp": now,
                         "msg_id": "push-%d-%d" % (now, i), "msg": {"i": i}})
            send_times.append(time.time() * 1000)
            sock.send_multipart((b"org.fedoraproject.prod.benchpush.tick", body))
        else:
            topic, body = frames[(first + i) % len(frames)]
            sock.send_multipart((topic, body))
        i += 1
    seconds = time.time() - t0
    print(json.dumps({"sent": i, "seconds": seconds, "send_times_ms": send_times}), flush=True)
sock.close()
ctx.term()
