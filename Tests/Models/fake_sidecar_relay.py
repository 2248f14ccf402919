#!/usr/bin/python3
"""A stand-in for the relay in sidecar mode (`earshot serve --model stdio`), for Tests/Models/test_earshot_sidecar.py.
Docs/examples/earshot_sidecar.py starts it with `--earshot` as it would start earshot, and this script plays the
relay's side of the multiplexed pipes (Docs/model-protocol.md, "Sidecar"): its stdout carries relay -> model
frames, its stdin model -> relay frames, both | length u32 BE | kind u8 | id_length u8 | id | body |.

FAKE_RELAY_MODE picks the choreography:

  sessions  relay.ready; frames the model must skip (length 0, kind 7, an id longer than its frame, a relay-level
            message, frames for an unknown id); four sessions: an echo picked with "model":"echo", the default
            (parrot) with no "model", one with "model":null sent malformed JSON (it must answer error, then stop),
            and one naming a model the script does not serve (the default; stopped at once). Echo and parrot run
            interleaved: the echo returns every payload unchanged with output headers, the parrot plays the
            utterance back after speech_stopped (mark, response.done) and clears when talked over. The echo is
            then stopped by the relay; the parrot stays live until this script's stdin ends, when it gets stop
            relay_shutdown as from a relay shutting down.
  flood     stops reading its stdin while it sends an echo session 2000 frames: the model must stop that session
            (stop, "input queue full") without falling over, and still serve a new session afterwards.
  exit      relay.ready, then exits with status 7 (a relay exiting on its own).
  oversize  relay.ready and a session, then a frame length over the limit: the model must close this script's
            stdin (the stream is lost).
  hang      relay.ready, then ignores the end of its stdin for up to 60 s (the model must kill it).

Every check that fails is recorded; the verdict goes as JSON to the file FAKE_RELAY_RESULT names: the mode, argv,
pid, whether stdin ended, and the failures. "fake relay: choreography done" on stderr tells the test that the
choreography is over (the test then sends SIGTERM to the model). Exit status 0, except in mode exit.
"""

import collections
import json
import math
import os
import queue
import struct
import sys
import threading
import time
import traceback

MODE = os.environ.get("FAKE_RELAY_MODE", "sessions")
RESULT = os.environ.get("FAKE_RELAY_RESULT")
TIMEOUT = 5  # seconds: the bound on every wait for the model
EOF_TIMEOUT = 20  # seconds: the bound on the wait for the model to close our stdin
MARKER = "fake relay: choreography done"
MAX_MESSAGE = 1 << 20
MAX_FRAME_LENGTH = 1 + 1 + 255 + MAX_MESSAGE
CONTROL, AUDIO = 1, 2
AUDIO_HEADER = struct.Struct(">BBHIQQ")
RATE, FRAME_SAMPLES = 16000, 320
READY = {"type": "relay.ready", "protocol": "earshot-model/1", "http": "127.0.0.1:18080",
         "udp": "127.0.0.1:15000", "whip_url": "http://127.0.0.1:18080/v1/whip"}

out = sys.stdout.buffer
sys.stdout = sys.stderr  # print() goes to the log, never into the frames
failures = []
write_lock = threading.Lock()


def fail(what):
    failures.append(what)
    print(f"fake relay: FAILED: {what}", file=sys.stderr, flush=True)


def check(condition, what):
    if not condition:
        fail(what)
    return condition


def send_raw(data):
    with write_lock:
        out.write(data)
        out.flush()


def send(session_id, kind, body):
    ident = session_id.encode("ascii")
    send_raw(struct.pack(">IBB", 2 + len(ident) + len(body), kind, len(ident)) + ident + body)


def send_control(session_id, message):
    send(session_id, CONTROL, json.dumps(message, separators=(",", ":")).encode())


def tone(seconds, hz=440.0):
    count = round(seconds * RATE)
    return struct.pack(f"<{count}h", *(round(8000 * math.sin(2 * math.pi * hz * i / RATE)) for i in range(count)))


def frames(pcm):
    return [pcm[i:i + 2 * FRAME_SAMPLES] for i in range(0, len(pcm), 2 * FRAME_SAMPLES)]


def session_start(session_id, **changes):
    message = {
        "type": "session.start", "protocol": "earshot-model/1", "session_id": session_id,
        "input_audio_format": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1, "frame_ms": 20},
        "output_audio_formats": ["pcm16/8000", "pcm16/16000", "pcm16/24000", "pcm16/48000"],
        "vad": {"enabled": True, "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
        "client": {"user_agent": "fake relay", "remote_address": "127.0.0.1:40000", "codec": "opus/48000/2"},
    }
    message.update(changes)
    return message


class Relay:
    """The relay's state: the sessions it started and stopped, the frames the model sent, per session."""

    def __init__(self):
        self.started, self.relay_stopped, self.model_stopped = set(), set(), set()
        self.queues = collections.defaultdict(queue.Queue)  # id -> (kind, message) from the model
        self.input_sequence = collections.Counter()
        self.reading = threading.Event()  # cleared: the reader stops reading stdin (the pipe fills up)
        self.reading.set()
        self.eof = threading.Event()
        threading.Thread(target=self.read, daemon=True).start()

    def start(self, session_id, **changes):
        self.started.add(session_id)
        send_control(session_id, session_start(session_id, **changes))

    def stop(self, session_id, reason):
        self.relay_stopped.add(session_id)
        send_control(session_id, {"type": "stop", "reason": reason})

    def audio(self, session_id, payload, media_time=None):
        sequence = self.input_sequence[session_id]
        media_time = sequence * FRAME_SAMPLES if media_time is None else media_time
        self.input_sequence[session_id] += 1
        header = AUDIO_HEADER.pack(1, 0, 0, sequence, media_time, 1000 * (sequence + 1))
        send(session_id, AUDIO, header + payload)

    def read(self):
        """Reads and checks every frame from the model until stdin ends."""
        stdin = sys.stdin.buffer
        try:
            while True:
                self.reading.wait()
                head = stdin.read(4)
                if len(head) < 4:
                    check(not head, "stdin ended inside a frame length")
                    break
                (length,) = struct.unpack(">I", head)
                if not check(2 <= length <= MAX_FRAME_LENGTH, f"frame length {length}"):
                    break
                frame = stdin.read(length)
                if not check(len(frame) == length, "stdin ended inside a frame"):
                    break
                self.accept(frame)
        except Exception:
            fail("reading stdin: " + traceback.format_exc())
        finally:
            self.eof.set()

    def accept(self, frame):
        kind, id_length = frame[0], frame[1]
        session_id, body = frame[2:2 + id_length].decode("ascii", "replace"), frame[2 + id_length:]
        if not (check(kind in (CONTROL, AUDIO), f"frame kind {kind}")
                and check(2 + id_length <= len(frame), f"id length {id_length} in a frame of {len(frame)}")
                and check(id_length > 0, "a relay-level message from the model")
                and check(session_id in self.started, f"a frame for session {session_id!r}, never started")
                and check(session_id not in self.model_stopped, f"a frame for {session_id} after the model's stop")
                and check(session_id not in self.relay_stopped, f"a frame for {session_id} after the relay's stop")
                and check(len(body) <= MAX_MESSAGE, f"a body of {len(body)} bytes")):
            return
        if kind == CONTROL:
            try:
                message = json.loads(body)
            except ValueError:
                fail(f"{session_id}: control message not JSON: {body[:100]!r}")
                return
            if not check(isinstance(message, dict) and isinstance(message.get("type"), str),
                         f"{session_id}: control message without a type: {message!r}"):
                return
            if message["type"] == "stop":
                self.model_stopped.add(session_id)
            self.queues[session_id].put((CONTROL, message))
        else:
            if not check(len(body) >= AUDIO_HEADER.size, f"{session_id}: audio of {len(body)} bytes"):
                return
            fields = AUDIO_HEADER.unpack_from(body)
            check(fields[0] == 2 and fields[1] == 0 and fields[2] == 0 and fields[5] == 0,
                  f"{session_id}: output audio header {fields}")
            self.queues[session_id].put((AUDIO, (fields, body[AUDIO_HEADER.size:])))

    def next(self, session_id):
        try:
            return self.queues[session_id].get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"{session_id}: nothing from the model within {TIMEOUT} s") from None

    def expect_control(self, session_id, type_):
        kind, message = self.next(session_id)
        if kind != CONTROL or message["type"] != type_:
            raise AssertionError(f"{session_id}: expected {type_}, got {message if kind == CONTROL else 'audio'}")
        return message

    def expect_audio(self, session_id):
        kind, message = self.next(session_id)
        if kind != AUDIO:
            raise AssertionError(f"{session_id}: expected audio, got {message}")
        return message

    def expect_ready(self, session_id):
        ready = self.expect_control(session_id, "session.ready")
        check(ready.get("output_audio_format") == {"encoding": "pcm16", "sample_rate": RATE},
              f"{session_id}: session.ready {ready}")

    def response(self, session_id):
        """Output audio up to response.done: (response id, joined payload, control messages before it)."""
        pcm, ids, controls = bytearray(), set(), []
        while True:
            kind, message = self.next(session_id)
            if kind == AUDIO:
                ids.add(message[0][4])
                pcm += message[1]
            elif message["type"] == "response.done":
                check(ids == {message.get("response_id")}, f"{session_id}: response ids {ids}, done {message}")
                return message.get("response_id"), bytes(pcm), controls
            else:
                controls.append(message)

    def leftovers(self):
        return {sid: q.qsize() for sid, q in self.queues.items() if q.qsize()}


def sessions(relay):
    # What a model must skip or ignore, before any session.
    send_raw(struct.pack(">I", 0))  # length 0
    send_raw(struct.pack(">IBB", 3, 7, 0) + b"x")  # kind 7
    send_raw(struct.pack(">IBB", 4, CONTROL, 9) + b"ab")  # an id of 9 bytes in a frame with 2 left
    send_control("", {"type": "relay.notice", "text": "a relay-level message no model knows"})
    send_control("ghost", {"type": "speech_started", "audio_start_ms": 0})
    relay.audio("ghost", bytes(640))

    echo, parrot, broken, unknown = "sess-echo", "sess-parrot", "sess-broken", "sess-unknown"
    relay.start(echo, model="echo")
    relay.start(parrot)  # no "model": the model's default, parrot
    relay.start(broken, model=None)  # null: the default too
    relay.start(unknown, model="no-such-model")  # a name the model does not serve: the default
    for session_id in (echo, parrot, broken, unknown):
        relay.expect_ready(session_id)
    relay.stop(unknown, "client_hangup")

    # Malformed JSON: the session ends with error, then stop; frames for it afterwards are dropped.
    send(broken, CONTROL, b'{"type":')
    error = relay.expect_control(broken, "error")
    check(error.get("code") == "bad_json", f"{broken}: error {error}")
    stop = relay.expect_control(broken, "stop")
    check(stop.get("reason"), f"{broken}: stop without a reason {stop}")
    relay.audio(broken, bytes(640))

    # Echo and parrot, interleaved frame by frame.
    speech = tone(0.6)
    sent = frames(speech)
    for index, frame in enumerate(sent):
        relay.audio(echo, frame)
        relay.audio(parrot, frame)
        if index == 5:  # the VAD reports speech once it has heard some
            send_control(parrot, {"type": "speech_started", "audio_start_ms": 0})
            send_control(echo, {"type": "speech_started", "audio_start_ms": 0})  # the echo ignores events
    send_control(parrot, {"type": "speech_stopped", "audio_end_ms": 600})
    for index, frame in enumerate(sent):
        fields, payload = relay.expect_audio(echo)
        check(payload == frame, f"{echo}: frame {index} came back changed")
        check((fields[3], fields[4]) == (index, 1), f"{echo}: frame {index}: sequence/response {fields[3:5]}")
    response_id, pcm, controls = relay.response(parrot)
    check(response_id == 1, f"{parrot}: response id {response_id}")
    check(pcm == speech, f"{parrot}: played {len(pcm)} bytes, not the {len(speech)} of the utterance")
    check([c["type"] for c in controls] == ["mark"], f"{parrot}: controls {controls}")

    # The caller talks over the reply: barge-in.
    send_control(parrot, {"type": "speech_started", "audio_start_ms": 700})
    relay.expect_control(parrot, "clear")
    send_control(parrot, {"type": "mark_cancelled", "name": controls[0].get("name") if controls else "?"})
    send_control(parrot, {"type": "played", "response_id": 1, "played_ms": 300.0, "played_samples": 4800,
                          "truncated": True})

    relay.stop(echo, "client_hangup")
    return [parrot]  # live until the relay shuts down


def flood(relay):
    flooded, fresh = "sess-flood", "sess-fresh"
    relay.start(flooded, model="echo")
    relay.expect_ready(flooded)
    relay.reading.clear()  # its answers pile up in the pipe; then it cannot send, then it cannot keep up
    payload = bytes(3200)
    for _ in range(2000):
        relay.audio(flooded, payload)
    relay.reading.set()
    echoed = 0
    while True:
        kind, message = relay.next(flooded)
        if kind == CONTROL:
            break
        check(message[0][3] == echoed, f"{flooded}: echo sequence {message[0][3]}, expected {echoed}")
        echoed += 1
    check(message["type"] == "stop" and "queue full" in str(message.get("reason")), f"{flooded}: {message}")
    check(0 < echoed < 2000, f"{flooded}: {echoed} echoes before the stop")
    print(f"fake relay: {echoed} echoes, then {message}", file=sys.stderr, flush=True)
    relay.audio(flooded, payload)  # dropped: the session is over

    relay.start(fresh, model="echo")
    relay.expect_ready(fresh)
    relay.audio(fresh, tone(0.02))
    check(relay.expect_audio(fresh)[1] == tone(0.02), f"{fresh}: echo changed")
    relay.stop(fresh, "client_hangup")
    return []


def main():
    print(f"fake relay: pid {os.getpid()}, argv {sys.argv[1:]}", file=sys.stderr, flush=True)
    verdict = {"mode": MODE, "argv": sys.argv[1:], "pid": os.getpid(), "stdin_eof": False}

    def write_verdict():
        verdict["failures"] = failures
        if RESULT:
            with open(RESULT, "w") as file:
                json.dump(verdict, file)

    check(sys.argv[1:4] == ["serve", "--model", "stdio"], f"arguments {sys.argv[1:]}")
    relay = Relay()
    send_control("", READY)
    if MODE == "exit":
        write_verdict()
        return 7
    if MODE == "hang":
        print(MARKER, file=sys.stderr, flush=True)
        write_verdict()
        time.sleep(60)  # the model's shutdown bound is shorter: it kills us
        return 0
    live = []
    try:
        if MODE == "sessions":
            live = sessions(relay)
        elif MODE == "flood":
            live = flood(relay)
        elif MODE == "oversize":
            relay.start("sess-1", model="echo")
            relay.expect_ready("sess-1")
            send_raw(struct.pack(">IB", MAX_FRAME_LENGTH + 1, CONTROL) + bytes(1000))
        else:
            fail(f"unknown mode {MODE}")
    except Exception:
        fail(traceback.format_exc())
    print(MARKER, file=sys.stderr, flush=True)
    # Nothing more is expected from the model: its next move is to close our stdin.
    verdict["stdin_eof"] = relay.eof.wait(EOF_TIMEOUT)
    check(verdict["stdin_eof"], f"stdin still open {EOF_TIMEOUT} s after the choreography")
    check(not relay.leftovers(), f"unexpected frames from the model: {relay.leftovers()}")
    if MODE != "oversize":
        try:
            for session_id in live:  # as a relay shutting down does
                relay.stop(session_id, "relay_shutdown")
        except OSError as error:
            fail(f"the model stopped reading before the relay shut down: {error}")
    write_verdict()
    return 0


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)  # not sys.exit: the reader thread may still be blocked reading stdin (mode exit)
