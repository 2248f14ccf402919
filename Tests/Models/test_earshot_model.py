"""Tests for Docs/examples/earshot_model.py, the reference model for the model protocol earshot-model/1
(Docs/model-protocol.md).

A small driver here plays the relay's side of the protocol (a protocol test driver, not the relay). For both
models (echo, parrot) and both transports it runs whole sessions and feeds the model broken input:
- stdio: the script runs as a subprocess with pipes; frames | length u32 BE | kind u8 | body |.
- WebSocket: the script serves `--listen 127.0.0.1:0` (it logs the port it got) and the minimal RFC 6455 client
  below dials it, masking its frames as a client must.
All traffic stays on 127.0.0.1. Every wait is bounded by TIMEOUT and nothing sleeps: the tests wait for messages.

Run: /usr/bin/python3 -m unittest discover -s Tests/Models
"""

import asyncio
import base64
import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import re
import signal
import struct
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "Docs", "examples", "earshot_model.py")
TIMEOUT = 5  # seconds: the bound on every wait, so a failing test fails instead of hanging
RATE = 16000
FRAME_SAMPLES = 320  # 20 ms at 16 kHz
AUDIO_HEADER = struct.Struct(">BBHIQQ")  # type, flags, reserved, sequence, media time, relay time: 24 bytes
MAX_MESSAGE = 1 << 20  # 1 MiB, the protocol's largest message body
CONTROL, AUDIO = 1, 2  # stdio frame kinds


def bounded(awaitable):
    return asyncio.wait_for(awaitable, TIMEOUT)


def tone(seconds, hz=440.0):
    """PCM16 little-endian mono at RATE."""
    count = round(seconds * RATE)
    return struct.pack(f"<{count}h", *(round(8000 * math.sin(2 * math.pi * hz * i / RATE)) for i in range(count)))


RAMP_CYCLE = struct.pack("<65536H", *range(65536))


def ramp(first, count):
    """Samples first, first + 1, ... (mod 2^16): any slice of it shows where it was cut."""
    cycles = RAMP_CYCLE * ((first % 65536 + count) // 65536 + 1)
    return cycles[2 * (first % 65536):2 * (first % 65536 + count)]


def frames(pcm):
    return [pcm[i:i + 2 * FRAME_SAMPLES] for i in range(0, len(pcm), 2 * FRAME_SAMPLES)]


def session_start(**changes):
    """session.start as the design brief gives it."""
    message = {
        "type": "session.start", "protocol": "earshot-model/1", "session_id": "test-session",
        "input_audio_format": {"encoding": "pcm16", "sample_rate": RATE, "channels": 1, "frame_ms": 20},
        "output_audio_formats": ["pcm16/8000", "pcm16/16000", "pcm16/24000", "pcm16/48000"],
        "vad": {"enabled": True, "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500},
        "client": {"user_agent": "test", "remote_address": "127.0.0.1:40000", "codec": "opus/48000/2"},
    }
    message.update(changes)
    return message


@dataclasses.dataclass
class Message:
    """A message from the model: a control message (`control`) or output audio (header fields and payload)."""
    control: dict = None
    audio_type: int = 0
    flags: int = 0
    reserved: int = 0
    sequence: int = 0
    response_id: int = 0  # the media time field of output audio
    relay_time: int = 0
    payload: bytes = b""


class RelaySide:
    """The relay's side of one session; subclasses move the messages (send_message / receive_message)."""

    def __init__(self):
        self.input_sequence = 0
        self.media_time = 0  # samples: where the next input frame starts

    async def send_control(self, message):
        await self.send_message(CONTROL, json.dumps(message).encode())

    async def send_audio(self, payload, media_time=None, flags=0, audio_type=1):
        """One input audio message; media time continues from the previous frame unless given."""
        media_time = self.media_time if media_time is None else media_time
        header = AUDIO_HEADER.pack(audio_type, flags, 0, self.input_sequence, media_time, 1000 * self.input_sequence)
        self.input_sequence += 1
        self.media_time = media_time + len(payload) // 2
        await self.send_message(AUDIO, header + payload)

    async def send_pcm(self, pcm):
        for frame in frames(pcm):
            await self.send_audio(frame)

    async def receive(self):
        """The next message from the model, or None once the session's transport has closed."""
        message = await self.receive_message()
        if message is None:
            return None
        kind, body = message
        if kind == CONTROL:
            control = json.loads(body.decode("utf-8"))
            assert isinstance(control, dict) and isinstance(control.get("type"), str), control
            return Message(control=control)
        assert len(body) >= AUDIO_HEADER.size, body
        return Message(None, *AUDIO_HEADER.unpack_from(body), payload=body[AUDIO_HEADER.size:])

    async def expect_control(self, type_):
        message = await self.receive()
        assert message is not None and message.control is not None, f"expected {type_}, got {message}"
        assert message.control["type"] == type_, f"expected {type_}, got {message.control}"
        return message.control

    async def begin(self, **changes):
        """session.start → session.ready; returns session.ready."""
        await self.send_control(session_start(**changes))
        return await self.expect_control("session.ready")

    async def response(self):
        """Output audio up to response.done: (response id, joined payload, control messages before done, audio)."""
        audio, controls = [], []
        while True:
            message = await self.receive()
            assert message is not None, "the session ended inside a response"
            if message.control is None:
                audio.append(message)
            elif message.control["type"] == "response.done":
                break
            else:
                controls.append(message.control)
        ids = {m.response_id for m in audio}
        assert ids == {message.control["response_id"]}, (ids, message.control)
        return ids.pop(), b"".join(m.payload for m in audio), controls, audio


class StdioSide(RelaySide):
    """The model as a subprocess speaking length-prefixed frames on its stdin/stdout."""

    @classmethod
    async def launch(cls, model):
        side = cls()
        side.process = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT, "--stdio", "--model", model,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        side.log = bytearray()
        side.log_reader = asyncio.create_task(side.collect_log())
        return side

    async def collect_log(self):
        while chunk := await self.process.stderr.read(1 << 16):
            self.log += chunk

    async def send_raw(self, data):
        self.process.stdin.write(data)
        await bounded(self.process.stdin.drain())

    async def send_message(self, kind, body):
        await self.send_raw(struct.pack(">IB", len(body) + 1, kind) + body)

    async def receive_message(self):
        try:
            head = await bounded(self.process.stdout.readexactly(4))
        except asyncio.IncompleteReadError as eof:
            assert not eof.partial, "stdout ended inside a frame length"
            return None
        (length,) = struct.unpack(">I", head)
        assert 1 <= length <= MAX_MESSAGE + 1, length
        frame = await bounded(self.process.stdout.readexactly(length))
        assert frame[0] in (CONTROL, AUDIO), frame[0]
        return frame[0], frame[1:]

    async def exit_status(self):
        status = await bounded(self.process.wait())
        await bounded(self.log_reader)
        return status

    async def dispose(self):
        if self.process.returncode is None:
            self.process.kill()
        await bounded(self.process.wait())
        await bounded(self.log_reader)


def client_mask(payload, key):
    """RFC 6455 §5.3: byte i XOR key[i % 4]; each of the 4 interleaved byte streams goes through a XOR table."""
    out = bytearray(payload)
    for i in range(4):
        out[i::4] = payload[i::4].translate(bytes(byte ^ key[i] for byte in range(256)))
    return bytes(out)


class WebSocketSide(RelaySide):
    """A minimal RFC 6455 client dialling the model's WebSocket server."""

    @classmethod
    async def connect(cls, port, path="/echo", request=None):
        """Opens the connection and sends the Upgrade request; returns (side, HTTP status, response headers)."""
        side = cls()
        side.reader, side.writer = await bounded(asyncio.open_connection("127.0.0.1", port))
        side.close_code = side.close_sent = None
        side.pongs, side.length_forms = [], []
        key = base64.b64encode(os.urandom(16)).decode()
        side.writer.write((request or (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")).encode())
        response = (await bounded(side.reader.readuntil(b"\r\n\r\n"))).decode("latin-1").split("\r\n")
        status = int(response[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in response[1:] if line)}
        if status == 101:  # RFC 6455 §4.2.2: the key + the fixed GUID, SHA-1, base64
            guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            expected = base64.b64encode(hashlib.sha1((key + guid).encode()).digest()).decode()
            assert headers.get("sec-websocket-accept") == expected, headers
            assert headers.get("upgrade", "").lower() == "websocket", headers
        return side, status, headers

    async def send_frame(self, opcode, payload=b"", fin=True, masked=True, rsv=0, length=None):
        """One client frame (§5.2); `length` overrides the announced payload length."""
        length = len(payload) if length is None else length
        first, mask_bit = (0x80 if fin else 0) | rsv << 4 | opcode, 0x80 if masked else 0
        if length < 126:
            head = struct.pack(">BB", first, mask_bit | length)
        elif length < 1 << 16:
            head = struct.pack(">BBH", first, mask_bit | 126, length)
        else:
            head = struct.pack(">BBQ", first, mask_bit | 127, length)
        key = os.urandom(4) if masked else b""
        self.writer.write(head + key + (client_mask(payload, key) if masked else payload))
        await bounded(self.writer.drain())

    async def send_message(self, kind, body):
        await self.send_frame(1 if kind == CONTROL else 2, body)

    async def read_frame(self):
        first, second = await bounded(self.reader.readexactly(2))
        assert not second & 0x80, "a server must not mask (§5.1)"
        assert not first & 0x70, "reserved bits set"
        length, form = second & 0x7F, 7
        if length == 126:
            (length,), form = struct.unpack(">H", await bounded(self.reader.readexactly(2))), 16
        elif length == 127:
            (length,), form = struct.unpack(">Q", await bounded(self.reader.readexactly(8))), 64
        return bool(first & 0x80), first & 0x0F, await bounded(self.reader.readexactly(length)), form

    async def receive_message(self):
        """The next data message; None after the server's close frame (answered, as §5.5.1 asks)."""
        parts, opcode = [], None
        while True:
            try:
                fin, op, payload, form = await self.read_frame()
            except asyncio.IncompleteReadError:
                return None  # TCP closed without a close frame
            if op == 0x8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if payload else 1005
                self.close_reason = payload[2:].decode("utf-8")
                if self.close_sent is None:
                    await self.send_frame(0x8, payload[:2])
                return None
            if op == 0x9:
                await self.send_frame(0xA, payload)
            elif op == 0xA:
                self.pongs.append(payload)
            else:
                assert (op == 0) == (opcode is not None), "bad fragmentation from the server"
                opcode = opcode or op
                parts.append(payload)
                self.length_forms.append(form)
                if fin:
                    return (CONTROL if opcode == 1 else AUDIO), b"".join(parts)

    async def expect_closed(self, code):
        """The server's close frame with `code` (perhaps after messages we skip), then the end of TCP."""
        while (message := await self.receive()) is not None:
            assert message.control is None or message.control["type"] != "error", message
        assert self.close_code == code, (self.close_code, getattr(self, "close_reason", None))
        assert await bounded(self.reader.read()) == b"", "data after the close frame"

    async def dispose(self):
        self.writer.close()


class ModelServer:
    """The script serving WebSocket on 127.0.0.1, on a port the system picks (the script logs it)."""

    async def start(self):
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT, "--listen", "127.0.0.1:0",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self.log = bytearray()
        while not (found := re.search(rb"listening on ws://127\.0\.0\.1:(\d+)/", self.log)):
            line = await bounded(self.process.stderr.readline())
            assert line, f"the server ended: {self.log.decode()}"
            self.log += line
        self.port = int(found.group(1))
        self.log_reader = asyncio.create_task(self.collect_log())

    async def collect_log(self):
        while chunk := await self.process.stderr.read(1 << 16):
            self.log += chunk

    async def stop(self):
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        status = await bounded(self.process.wait())
        await bounded(self.log_reader)
        return status


class SessionTests:
    """Sessions and bad input, over the transport of the subclass (open / assert_clean_end / assert_error_end)."""

    async def asyncSetUp(self):
        self.sides = []

    async def asyncTearDown(self):
        for side in self.sides:
            await side.dispose()

    async def test_echo_sends_back_every_payload_in_order(self):
        side = await self.open("echo")
        ready = await side.begin()
        self.assertEqual(ready["output_audio_format"], {"encoding": "pcm16", "sample_rate": RATE})
        sent = frames(tone(1.0))
        self.assertEqual(len(sent), 50)
        for index, frame in enumerate(sent):
            await side.send_audio(frame, flags=1 if index == 7 else 0)
            if index == 10:  # events the echo does not answer
                await side.send_control({"type": "speech_started", "audio_start_ms": 100})
                await side.send_control({"type": "stats", "uplink": {"packetsReceived": 10}, "downlink": {}})
            if index == 30:
                await side.send_control({"type": "speech_stopped", "audio_end_ms": 600})
                await side.send_control({"type": "played", "response_id": 1, "played_ms": 200.0,
                                         "played_samples": 3200, "truncated": True})
                await side.send_control({"type": "mark_played", "name": "m", "played_at_ms": 30})
        await side.send_control({"type": "stop", "reason": "client_hangup"})
        received = []
        while (message := await side.receive()) is not None:
            received.append(message)
        self.assertEqual([m.control for m in received], [None] * 50, "only audio comes back")
        self.assertEqual([m.payload for m in received], sent)
        self.assertEqual([m.sequence for m in received], list(range(50)))
        for message in received:
            self.assertEqual((message.audio_type, message.flags, message.reserved, message.response_id,
                              message.relay_time), (2, 0, 0, 1, 0))
        await self.assert_clean_end(side)

    async def test_echo_chooses_the_input_rate(self):
        for rate in (8000, 24000, 48000):
            with self.subTest(rate=rate):
                side = await self.open("echo")
                ready = await side.begin(input_audio_format={"encoding": "pcm16", "sample_rate": rate,
                                                             "channels": 1, "frame_ms": 20})
                self.assertEqual(ready["output_audio_format"], {"encoding": "pcm16", "sample_rate": rate})

    async def test_parrot_plays_back_each_utterance_and_clears_on_barge_in(self):
        side = await self.open("parrot")
        await side.begin()
        speech = tone(1.0)
        await side.send_pcm(bytes(2 * 3200))  # 200 ms of silence
        await side.send_pcm(speech[:6400])  # the VAD reports speech once it has heard some
        await side.send_control({"type": "speech_started", "audio_start_ms": 200})
        await side.send_pcm(speech[6400:])
        await side.send_pcm(bytes(2 * 4800))  # the silence after which the VAD reports the end
        await side.send_control({"type": "speech_stopped", "audio_end_ms": 1200})
        response_id, played, controls, audio = await side.response()
        self.assertEqual(response_id, 1)
        self.assertEqual(played, speech, "the utterance, exactly")
        self.assertTrue(all(len(m.payload) <= 3200 and len(m.payload) % 2 == 0 for m in audio), "100 ms chunks")
        self.assertEqual([c["type"] for c in controls], ["mark"])
        mark = controls[0]["name"]

        # The caller talks again before response 1 is reported played: barge-in.
        await side.send_control({"type": "speech_started", "audio_start_ms": 1500})
        await side.expect_control("clear")
        await side.send_control({"type": "played", "response_id": 1, "played_ms": 300.0, "played_samples": 4800,
                                 "truncated": True})
        await side.send_control({"type": "mark_cancelled", "name": mark})
        second = tone(0.5, 660)
        await side.send_pcm(second)
        await side.send_control({"type": "speech_stopped", "audio_end_ms": 2000})
        response_id, played, controls, audio = await side.response()
        self.assertEqual((response_id, played), (2, second))
        self.assertEqual([c["type"] for c in controls], ["mark"])

        # Response 2 is reported played in full: the next utterance brings no clear, only response 3.
        await side.send_control({"type": "mark_played", "name": controls[0]["name"], "played_at_ms": 2600})
        await side.send_control({"type": "played", "response_id": 2, "played_ms": 500.0, "played_samples": 8000,
                                 "truncated": False})
        await side.send_control({"type": "speech_started", "audio_start_ms": 2000})
        third = tone(0.3, 880)
        await side.send_pcm(third)
        await side.send_control({"type": "speech_stopped", "audio_end_ms": 2300})
        response_id, played, controls, last_audio = await side.response()
        self.assertEqual((response_id, played), (3, third))
        self.assertEqual([c["type"] for c in controls], ["mark"], "no clear")
        self.assertEqual(last_audio[-1].sequence, 10 + 5 + 3 - 1, "output sequence counts every output message")
        await side.send_control({"type": "stop", "reason": "client_hangup"})
        self.assertIsNone(await side.receive())
        await self.assert_clean_end(side)

    async def test_parrot_cuts_at_the_reported_times_and_keeps_gaps(self):
        side = await self.open("parrot")
        await side.begin()
        for index in range(50):  # 1 s of a ramp; frame 30 (600-620 ms) never arrives
            if index != 30:
                await side.send_audio(ramp(index * FRAME_SAMPLES, FRAME_SAMPLES), media_time=index * FRAME_SAMPLES,
                                      flags=2 if index == 31 else 0)
        await side.send_control({"type": "speech_started", "audio_start_ms": 105})  # sample 1680, inside a frame
        await side.send_control({"type": "speech_stopped", "audio_end_ms": 777})  # sample 12432
        _, played, _, _ = await side.response()
        self.assertEqual(played, ramp(1680, 9600 - 1680) + bytes(2 * FRAME_SAMPLES) + ramp(9920, 12432 - 9920))

    async def test_unknown_type_and_unknown_fields_are_ignored(self):
        side = await self.open("echo")
        await side.begin(future_field={"x": 1})
        await side.send_control({"type": "future.message", "x": [1, 2]})
        await side.send_control({"type": "error", "code": "sequence_gap", "message": "4 output frames missing"})
        await side.send_audio(bytes(640))
        message = await side.receive()
        self.assertIsNone(message.control, "the echo of the audio comes first")
        self.assertEqual(message.payload, bytes(640))

    async def test_malformed_json_is_reported_and_ends_the_session(self):
        for body in (b'{"type": "speech_started", ', b"[1, 2]", b'{"kind": "stop"}', b'{"type": 3}',
                     b"[" * 100000):
            with self.subTest(body=body[:30]):
                side = await self.open("echo")
                await side.begin()
                await side.send_message(CONTROL, body)
                await self.assert_error_end(side, "bad_json")

    async def test_bad_audio_headers_are_reported(self):
        cases = {
            "output type from the relay": AUDIO_HEADER.pack(2, 0, 0, 0, 0, 0) + bytes(640),
            "unknown type": AUDIO_HEADER.pack(7, 0, 0, 0, 0, 0) + bytes(640),
            "shorter than the header": bytes([1] + [0] * 10),
            "odd PCM16 payload": AUDIO_HEADER.pack(1, 0, 0, 0, 0, 0) + bytes(641),
        }
        for name, body in cases.items():
            with self.subTest(name):
                side = await self.open("parrot")
                await side.begin()
                await side.send_message(AUDIO, body)
                await self.assert_error_end(side, "bad_audio_header")

    async def test_messages_before_session_start_are_refused(self):
        for name, send in (("audio", lambda side: side.send_audio(bytes(640))),
                           ("event", lambda side: side.send_control({"type": "speech_started", "audio_start_ms": 0}))):
            with self.subTest(name):
                side = await self.open("echo")
                await send(side)
                await self.assert_error_end(side, "unexpected_message")

    async def test_session_start_the_model_cannot_serve(self):
        opus = {"encoding": "opus", "sample_rate": 48000, "channels": 1, "frame_ms": 20}
        cases = (("echo", "unsupported_format", {"output_audio_formats": ["pcm16/24000"]}),
                 ("parrot", "unsupported_format", {"input_audio_format": opus}),
                 ("echo", "unsupported_protocol", {"protocol": "earshot-model/2"}))
        for model, code, changes in cases:
            with self.subTest(model=model, changes=changes):
                side = await self.open(model)
                await side.send_control(session_start(**changes))
                await self.assert_error_end(side, code)


class StdioTests(SessionTests, unittest.IsolatedAsyncioTestCase):
    async def open(self, model):
        side = await StdioSide.launch(model)
        self.sides.append(side)
        return side

    async def assert_clean_end(self, side):
        self.assertIsNone(await side.receive())
        self.assertEqual(await side.exit_status(), 0, side.log.decode())

    async def assert_error_end(self, side, code):
        error = await side.expect_control("error")
        self.assertEqual(error["code"], code, error)
        self.assertTrue(error["message"])
        self.assertIsNone(await side.receive(), "nothing after the error")
        self.assertEqual(await side.exit_status(), 1, side.log.decode())

    async def test_frame_over_the_limit_is_refused_before_its_body(self):
        side = await self.open("echo")
        await side.begin()
        await side.send_raw(struct.pack(">IB", MAX_MESSAGE + 2, CONTROL))  # no body follows: it is not read
        await self.assert_error_end(side, "frame_too_large")

    async def test_frames_at_the_limit_are_accepted(self):
        side = await self.open("echo")
        await side.begin()
        padding = {"type": "padding", "pad": ""}
        padding["pad"] = "x" * (MAX_MESSAGE - len(json.dumps(padding)))
        await side.send_control(padding)  # length field 1 048 577; an unknown type, ignored
        payload = ramp(0, (MAX_MESSAGE - AUDIO_HEADER.size) // 2 - 1) + bytes(2)
        await side.send_audio(payload)
        message = await side.receive()
        self.assertEqual(message.payload, payload)
        await side.send_control({"type": "stop", "reason": "done"})
        await self.assert_clean_end(side)

    async def test_truncated_frame_at_end_of_input(self):
        for name, data in (("inside the body", struct.pack(">IB", 100, CONTROL) + b'{"type":'),
                           ("inside the length", b"\x00\x00")):
            with self.subTest(name):
                side = await self.open("echo")
                await side.begin()
                await side.send_raw(data)
                side.process.stdin.close()
                await self.assert_error_end(side, "bad_frame")
                self.assertIn(b"truncated", side.log)

    async def test_bad_frames(self):
        for name, data in (("length 0", struct.pack(">I", 0)), ("kind 3", struct.pack(">IB", 3, 3) + b"{}")):
            with self.subTest(name):
                side = await self.open("echo")
                await side.begin()
                await side.send_raw(data)
                await self.assert_error_end(side, "bad_frame")

    async def test_control_body_not_utf8(self):
        side = await self.open("echo")
        await side.begin()
        await side.send_message(CONTROL, b'{"type":"\xc3\x28"}')
        await self.assert_error_end(side, "bad_json")

    async def test_end_of_input_between_frames_ends_cleanly(self):
        side = await self.open("parrot")
        await side.begin()
        await side.send_pcm(tone(0.1))
        side.process.stdin.close()
        await self.assert_clean_end(side)


class WebSocketTests(SessionTests, unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.server = ModelServer()
        await self.server.start()

    async def asyncTearDown(self):
        await super().asyncTearDown()
        self.assertEqual(await self.server.stop(), 0, "SIGTERM ends the server cleanly")
        self.assertNotIn(b"Traceback", self.server.log, self.server.log.decode())

    async def open(self, model, path=None):
        side, status, _ = await WebSocketSide.connect(self.server.port, path or f"/{model}")
        self.sides.append(side)
        self.assertEqual(status, 101)
        return side

    async def assert_clean_end(self, side):
        await side.expect_closed(1000)

    async def assert_error_end(self, side, code, close_code=1002):
        error = await side.expect_control("error")
        self.assertEqual(error["code"], code, error)
        self.assertTrue(error["message"])
        await side.expect_closed(close_code)

    async def test_handshake_refusals(self):
        def request(path="/echo", method="GET", version="13", key="dGhlIHNhbXBsZSBub25jZQ==", upgrade="websocket"):
            return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: {upgrade}\r\nConnection: keep-alive, "
                    f"Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n")
        cases = (("unknown path", request(path="/nope"), 404),
                 ("POST", request(method="POST"), 400),
                 ("no WebSocket upgrade", request(upgrade="h2c"), 400),
                 ("key of 4 bytes", request(key="AAAAAA=="), 400),
                 ("version 8", request(version="8"), 426))
        for name, text, expected in cases:
            with self.subTest(name):
                side, status, headers = await WebSocketSide.connect(self.server.port, request=text)
                self.sides.append(side)
                self.assertEqual(status, expected)
                if expected == 426:
                    self.assertEqual(headers.get("sec-websocket-version"), "13")
                self.assertEqual(await bounded(side.reader.read()), b"", "the connection closes")
        side = await self.open("echo", path="/echo?session=1")  # the server still serves
        await side.begin()

    async def test_root_path_is_the_default_model(self):
        side = await self.open("echo", path="/")
        await side.begin()
        await side.send_audio(bytes(640))
        self.assertEqual((await side.receive()).payload, bytes(640))

    async def test_fragmented_messages_with_a_ping_between_fragments(self):
        side = await self.open("echo")
        start = json.dumps(session_start()).encode()
        await side.send_frame(0x1, start[:10], fin=False)
        await side.send_frame(0x9, b"are you there")  # control frames may come between fragments (§5.4)
        await side.send_frame(0x0, start[10:40], fin=False)
        await side.send_frame(0x0, start[40:])
        await side.expect_control("session.ready")
        self.assertEqual(side.pongs, [b"are you there"])
        audio = AUDIO_HEADER.pack(1, 0, 0, 0, 0, 0) + tone(0.02)
        await side.send_frame(0x2, audio[:7], fin=False)
        await side.send_frame(0x0, b"", fin=False)
        await side.send_frame(0x0, audio[7:])
        self.assertEqual((await side.receive()).payload, tone(0.02))

    async def test_length_encodings(self):
        side = await self.open("echo")
        await side.begin()
        # Message sizes at the edges of the 7-, 16- and 64-bit length forms (§5.2), with even payloads.
        for size, form in ((24, 7), (124, 7), (126, 16), (664, 16), (65534, 16), (65536, 64), (70024, 64)):
            with self.subTest(size=size):
                payload = ramp(0, (size - AUDIO_HEADER.size) // 2)
                await side.send_audio(payload)
                self.assertEqual((await side.receive()).payload, payload)
                self.assertEqual(side.length_forms[-1], form)

    async def test_message_at_the_limit_is_accepted(self):
        side = await self.open("echo")
        await side.begin()
        payload = ramp(0, (MAX_MESSAGE - AUDIO_HEADER.size) // 2 - 1) + bytes(2)
        await side.send_audio(payload)
        self.assertEqual((await side.receive()).payload, payload)

    async def test_message_over_the_limit_closes_with_1009(self):
        for name in ("one frame", "fragments"):
            with self.subTest(name):
                side = await self.open("echo")
                await side.begin()
                if name == "one frame":  # only the header: the server refuses before reading the payload
                    await side.send_frame(0x2, length=MAX_MESSAGE + 1)
                else:
                    await side.send_frame(0x2, bytes(600_000), fin=False)
                    await side.send_frame(0x0, length=MAX_MESSAGE - 600_000 + 1)
                await self.assert_error_end(side, "frame_too_large", close_code=1009)

    async def test_framing_violations_close_the_connection(self):
        text = json.dumps({"type": "stats"}).encode()
        cases = (("unmasked frame", dict(opcode=0x1, payload=text, masked=False), 1002),
                 ("reserved bit", dict(opcode=0x1, payload=text, rsv=4), 1002),
                 ("unknown opcode", dict(opcode=0x3, payload=text), 1002),
                 ("continuation without a message", dict(opcode=0x0, payload=text), 1002),
                 ("fragmented ping", dict(opcode=0x9, payload=b"x", fin=False), 1002),
                 ("ping over 125 bytes", dict(opcode=0x9, payload=bytes(126)), 1002),
                 ("close frame of 1 byte", dict(opcode=0x8, payload=b"\x03"), 1002),
                 ("close code 1005", dict(opcode=0x8, payload=struct.pack(">H", 1005)), 1002),
                 ("text not UTF-8", dict(opcode=0x1, payload=b'{"type":"\xc3\x28"}'), 1007))
        for name, frame, code in cases:
            with self.subTest(name):
                side = await self.open("echo")
                await side.begin()
                await side.send_frame(**frame)
                await side.expect_closed(code)
        side = await self.open("echo")  # a new data message inside a fragmented one
        await side.begin()
        await side.send_frame(0x1, text[:5], fin=False)
        await side.send_frame(0x2, bytes(24))
        await side.expect_closed(1002)

    async def test_close_from_the_client_is_echoed(self):
        side = await self.open("parrot")
        await side.begin()
        side.close_sent = 1001
        await side.send_frame(0x8, struct.pack(">H", 1001) + b"going away")
        await side.expect_closed(1001)

    async def test_sessions_run_side_by_side_and_survive_a_dropped_connection(self):
        dropped = await self.open("parrot")
        await dropped.begin()
        await dropped.send_pcm(tone(0.1))
        dropped.writer.close()  # no close frame
        echo, parrot = await self.open("echo"), await self.open("parrot")
        await echo.begin()
        await parrot.begin()
        await parrot.send_control({"type": "speech_started", "audio_start_ms": 0})
        for frame in frames(tone(0.2)):
            await echo.send_audio(frame)
            await parrot.send_audio(frame)
            self.assertEqual((await echo.receive()).payload, frame)
        await parrot.send_control({"type": "speech_stopped", "audio_end_ms": 200})
        self.assertEqual((await parrot.response())[1], tone(0.2))
        for side in (echo, parrot):
            await side.send_control({"type": "stop", "reason": "relay_shutdown"})
            await side.expect_closed(1000)


class WebSocketAcceptTests(unittest.TestCase):
    def test_rfc_6455_example(self):
        spec = importlib.util.spec_from_file_location("earshot_model", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        # RFC 6455 §1.3: the sample key and the accept value it gives.
        self.assertEqual(module.websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")


class HelpTests(unittest.IsolatedAsyncioTestCase):
    async def test_help_explains_the_transports_and_models(self):
        process = await asyncio.create_subprocess_exec(sys.executable, SCRIPT, "--help",
                                                       stdout=asyncio.subprocess.PIPE)
        out, _ = await bounded(process.communicate())
        self.assertEqual(process.returncode, 0)
        for word in (b"--listen", b"--stdio", b"--model", b"echo", b"parrot", b"earshot-model/1", b"ws://"):
            self.assertIn(word, out)


if __name__ == "__main__":
    unittest.main()
