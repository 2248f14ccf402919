#!/usr/bin/python3
"""A model process for the Earshot voice relay, speaking the model protocol earshot-model/1
(Docs/model-protocol.md). Start here to plug in your own model.

The relay sends the caller's audio and events (speech_started, speech_stopped, played, ...) to the model; the
model sends audio back. Two toy models are built in:

  echo    answers session.start with the input's own format and sends every input audio payload straight back
          (one endless response, id 1).
  parrot  records each utterance between the relay's speech_started and speech_stopped and plays it back as one
          response (100 ms messages sent as fast as possible, then a mark and response.done). If the caller
          talks while a response has not been reported `played` yet, it sends `clear` (barge-in).

Your model: write a class like EchoModel or ParrotModel (subclass Model, override its on_* methods) and add it to
MODELS. The transports and the message parsing stay as they are.

Transports (the same messages on both):
  --listen HOST:PORT  a WebSocket server (default 127.0.0.1:8765; with --tls-cert and --tls-key, wss://); the relay
                      dials it, one connection per session:
                        earshot serve --model ws://127.0.0.1:8765/parrot
                      The URL path picks the model (/echo, /parrot; / = --model).
  --stdio             one session on stdin/stdout, frames | length u32 BE | kind u8 | body |; the relay starts one
                      process per session:
                        earshot serve --model 'exec:python3 Docs/examples/earshot_model.py --stdio --model parrot'
                      stdout carries only the protocol; logs go to stderr.

Errors: a message from the relay that breaks the protocol is answered with {"type":"error","code":...} and the
session is closed. Codes: bad_json, bad_audio_header (also an odd PCM16 payload), frame_too_large (over 1 MiB),
bad_frame (stdio: length 0, unknown kind, input ending inside a frame), unexpected_message (anything before
session.start, a second one), unsupported_protocol, unsupported_format (the model cannot take the input, or its
output format is not offered), model_error (an exception in the model). Unknown message types are ignored.
WebSocket close codes: 1000 after stop, 1002 protocol error, 1007 text not UTF-8, 1009 message over 1 MiB,
1011 model error. Exit status with --stdio: 0 after `stop` or when stdin ends between frames, 1 after an error.
The WebSocket server runs until SIGINT or SIGTERM.

Python 3.11, standard library only.
"""

import argparse
import asyncio
import base64
import binascii
import collections
import dataclasses
import hashlib
import json
import logging
import math
import signal
import ssl
import struct
import sys

PROTOCOL = "earshot-model/1"
MAX_MESSAGE = 1 << 20  # 1 MiB: the largest message body (JSON text, or audio header + payload), so memory is bounded
MAX_FRAME_LENGTH = MAX_MESSAGE + 1  # stdio: the frame length counts the kind byte too
KIND_CONTROL, KIND_AUDIO = 0x01, 0x02  # stdio frame kinds; on WebSocket, text and binary messages
AUDIO_INPUT, AUDIO_OUTPUT = 0x01, 0x02  # audio header types
# Audio header, 24 bytes big-endian: type u8, flags u8, reserved u16, sequence u32, media time u64, relay time u64.
AUDIO_HEADER = struct.Struct(">BBHIQQ")
FLAG_CONCEALED, FLAG_GAP, FLAG_STRETCHED = 0x01, 0x02, 0x04  # input flags: made-up audio, skipped audio, stretched
RELAY_EVENTS = {"speech_started", "speech_stopped", "mark_played", "mark_cancelled", "played", "stats"}

log = logging.getLogger("earshot_model")


class ProtocolError(Exception):
    """The relay broke the protocol. `code` goes to the relay in an error message (None: a WebSocket framing fault,
    reported in the close frame only); `close_code` is the WebSocket close status (RFC 6455 §7.4.1)."""

    def __init__(self, code, message, close_code=1002):
        super().__init__(message)
        self.code, self.close_code = code, close_code


@dataclasses.dataclass
class InputAudio:
    sequence: int  # input frame number, from 0
    media_time: int  # position of the first sample, in samples at the input rate (jumps over gaps)
    relay_time_us: int  # when its packet reached the relay, µs since the session started (0: made up)
    flags: int  # FLAG_CONCEALED | FLAG_GAP | FLAG_STRETCHED
    payload: bytes  # PCM16 little-endian mono, or one Opus packet


def parse_control(body):
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError("bad_json", f"control message is not JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError("bad_json", 'control message is not an object with a string "type"')
    return message


def parse_audio(body):
    if len(body) < AUDIO_HEADER.size:
        raise ProtocolError("bad_audio_header", f"audio message of {len(body)} bytes, shorter than its header")
    kind, flags, _, sequence, media_time, relay_time = AUDIO_HEADER.unpack_from(body)
    if kind != AUDIO_INPUT:
        raise ProtocolError("bad_audio_header", f"audio type {kind:#04x} from the relay (input is 0x01)")
    return InputAudio(sequence, media_time, relay_time, flags, body[AUDIO_HEADER.size:])


def number(message, field):
    """A finite number field of a relay message."""
    value = message.get(field)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError("bad_json", f"{message['type']} without a numeric {field}")
    return value


def same_format_as_input(start, encodings=("pcm16",)):
    """session.ready's output format: the input's encoding and rate, if session.start offers it as output."""
    fmt = start["input_audio_format"]
    encoding, rate, offered = fmt.get("encoding"), fmt.get("sample_rate"), start.get("output_audio_formats")
    if encoding not in encodings or fmt.get("channels", 1) != 1 or not isinstance(rate, int) or rate <= 0:
        raise ProtocolError("unsupported_format", f"input {encoding}/{rate}: this model takes {encodings} mono")
    if not isinstance(offered, list) or f"{encoding}/{rate}" not in offered:
        raise ProtocolError("unsupported_format", f"output {encoding}/{rate} is not offered: {offered}")
    return {"encoding": encoding, "sample_rate": rate}


# --- One session: the relay's messages in, the model's out (the same on both transports) ---------------------------

class SessionLog(logging.LoggerAdapter):
    def process(self, msg, kwargs):
        return f"[{self.extra['peer']}] {msg}", kwargs


class Session:
    """One relay session on one transport: parses the relay's messages, hands them to a Model, sends its output.
    The transport has receive() -> (kind, body) or None when closed, and send(kind, body)."""

    def __init__(self, transport, model_class, peer):
        self.transport, self.log = transport, SessionLog(log, {"peer": peer})
        self.model = model_class(self)
        self.started = self.stopping = False
        self.output_sequence = 0  # counts output audio messages from 0; the relay checks it

    # What a model calls. Each message is one write, so model tasks may call these concurrently.
    async def send_control(self, type_, **fields):
        self.log.debug("send %s %s", type_, fields)
        await self.transport.send(KIND_CONTROL, json.dumps({"type": type_, **fields}, separators=(",", ":")).encode())

    async def send_audio(self, response_id, payload):
        """Output audio of response `response_id`: a u64 > 0 the model picks, which ties the audio to its
        response.done and to the relay's `played` report."""
        if len(payload) > MAX_MESSAGE - AUDIO_HEADER.size:
            raise ValueError("audio payload over 1 MiB - 24 bytes: split it")
        header = AUDIO_HEADER.pack(AUDIO_OUTPUT, 0, 0, self.output_sequence & 0xFFFFFFFF, response_id, 0)
        self.output_sequence += 1
        await self.transport.send(KIND_AUDIO, header + payload)

    async def stop(self, reason):
        """The model ends the session; the relay then closes the transport."""
        await self.send_control("stop", reason=reason)
        self.stopping = True

    async def run(self):
        """Handles messages until the session ends. Returns None after a clean end (stop, or the transport closed),
        else the ProtocolError that ended it, already reported to the relay."""
        reason, error = "transport closed", None
        try:
            while not self.stopping:
                message = await self.transport.receive()
                if message is None:
                    break
                if await self.handle(*message):
                    reason = "stop"
                    break
        except ConnectionError:
            reason = "transport lost"
        except ProtocolError as exc:
            error, reason = exc, f"protocol error: {exc} ({exc.code or 'WebSocket framing'})"
        except Exception as exc:  # a bug in the model: tell the relay, end the session
            self.log.exception("model failed")
            error, reason = ProtocolError("model_error", f"{type(exc).__name__}: {exc}", close_code=1011), "model error"
        finally:
            if self.started:
                await self.model.on_stop(reason)
        (self.log.info if error is None else self.log.error)("session ended: %s", reason)
        if error is not None and error.code:
            try:
                await self.send_control("error", code=error.code, message=str(error))
            except OSError:  # the relay is gone already
                pass
        return error

    async def handle(self, kind, body):
        """One message from the relay; True when it ends the session."""
        if kind == KIND_AUDIO:
            audio = parse_audio(body)
            if not self.started:
                raise ProtocolError("unexpected_message", "audio before session.start")
            if self.pcm16 and len(audio.payload) % 2:
                raise ProtocolError("bad_audio_header", "PCM16 payload of an odd number of bytes")
            await self.model.on_audio(audio)
            return False
        message = parse_control(body)
        type_ = message["type"]
        self.log.debug("received %s", message if len(body) < 500 else type_)
        if type_ == "session.start":
            await self.start(message)
        elif not self.started:
            raise ProtocolError("unexpected_message", f"{type_} before session.start")
        elif type_ == "stop":
            self.log.info("the relay stops the session: %s", message.get("reason"))
            return True
        elif type_ == "error":  # the relay rejected something we sent; fatal codes are followed by stop
            self.log.warning("relay error %s: %s", message.get("code"), message.get("message"))
        elif type_ in RELAY_EVENTS:
            await self.model.on_event(message)
        else:  # forward compatibility: newer relays may send more
            self.log.debug("ignoring message type %r", type_)
        return False

    async def start(self, message):
        if self.started:
            raise ProtocolError("unexpected_message", "a second session.start")
        if message.get("protocol") != PROTOCOL:
            raise ProtocolError("unsupported_protocol", f"protocol {message.get('protocol')!r}, not {PROTOCOL}")
        if not isinstance(message.get("input_audio_format"), dict):
            raise ProtocolError("bad_json", "session.start without input_audio_format")
        self.log.info("session %s starts, input %s", message.get("session_id"), message["input_audio_format"])
        self.pcm16 = message["input_audio_format"].get("encoding") == "pcm16"
        output_format = await self.model.on_session_start(message)
        self.started = True
        await self.send_control("session.ready", output_audio_format=output_format)


# --- The models: write yours like these -------------------------------------------------------------------------

class Model:
    """One instance per session. Replace EchoModel or ParrotModel with your own subclass.

    The on_* methods run one at a time, in message order. A model that takes time to answer (a real one) should
    start an asyncio task for the work and keep returning promptly, so input keeps flowing; the task sends with
    self.session.send_audio / send_control. session.ready must go out within 5 s of session.start: load weights
    before serving, not in on_session_start."""

    def __init__(self, session):
        self.session = session
        self.log = session.log

    async def on_session_start(self, start):
        """Returns the output format for session.ready, one of start["output_audio_formats"], e.g.
        {"encoding": "pcm16", "sample_rate": 24000}. Raise ProtocolError("unsupported_format", ...) to refuse."""
        raise NotImplementedError

    async def on_audio(self, audio):
        """One InputAudio message."""

    async def on_event(self, message):
        """speech_started, speech_stopped, played, mark_played, mark_cancelled or stats (a dict)."""

    async def on_stop(self, reason):
        """The session has ended (stop, transport closed, or error): cancel tasks, free resources."""


class EchoModel(Model):
    """Sends every input payload straight back as response 1, in the input's own format."""

    async def on_session_start(self, start):
        return same_format_as_input(start, encodings=("pcm16", "opus"))

    async def on_audio(self, audio):
        await self.session.send_audio(1, audio.payload)


class ParrotModel(Model):
    """Plays each utterance back once the relay's VAD reports its end; clears its playback when talked over."""

    CHUNK_MS = 100  # output message size; sent as fast as possible, the relay paces the playback
    HISTORY_MS = 2000  # input kept while not recording: the VAD reports speech after it began
    MAX_UTTERANCE_MS = 60_000  # bounds memory: an utterance keeps its last minute
    MAX_GAP_MS = 1000  # skipped input (media time jumps) is played as silence, up to this much per gap

    async def on_session_start(self, start):
        output_format = same_format_as_input(start)
        self.rate = output_format["sample_rate"]
        self.frames = collections.deque()  # (media time, payload) of recent input
        self.buffered = 0  # samples in self.frames
        self.start_sample = None  # media time where the current utterance began; None when not recording
        self.response_id = 0
        self.unplayed = set()  # responses sent whose `played` report has not come yet
        return output_format

    def samples(self, ms):
        return round(ms * self.rate / 1000)

    async def on_audio(self, audio):
        if not audio.payload:
            return
        self.frames.append((audio.media_time, audio.payload))
        self.buffered += len(audio.payload) // 2
        keep = self.samples(self.HISTORY_MS if self.start_sample is None else self.MAX_UTTERANCE_MS)
        while self.buffered - len(self.frames[0][1]) // 2 >= keep:
            self.buffered -= len(self.frames.popleft()[1]) // 2

    async def on_event(self, message):
        type_ = message["type"]
        if type_ == "speech_started":
            if self.unplayed:  # the caller talks over our playback: barge-in
                self.log.info("barge-in: clearing response(s) %s", sorted(self.unplayed))
                await self.session.send_control("clear")
                self.unplayed.clear()  # nothing is queued any more; `played` (truncated) follows for each
            self.start_sample = self.samples(number(message, "audio_start_ms"))
        elif type_ == "speech_stopped" and self.start_sample is not None:
            pcm = self.cut(self.start_sample, self.samples(number(message, "audio_end_ms")))
            self.start_sample = None
            await self.play(pcm)
        elif type_ in ("played", "mark_played", "mark_cancelled"):
            self.log.info("%s", message)
            if type_ == "played" and isinstance(message.get("response_id"), int):
                self.unplayed.discard(message["response_id"])

    def cut(self, start, end):
        """The input between media times start and end (in samples), from the recent frames."""
        out, position = bytearray(), None  # position: media time where `out` ends
        for media_time, payload in self.frames:
            low = max(media_time, start if position is None else position)
            high = min(end, media_time + len(payload) // 2)
            if low >= high:
                continue
            if position is not None and low > position:
                out += bytes(2 * min(low - position, self.samples(self.MAX_GAP_MS)))
            out += payload[2 * (low - media_time):2 * (high - media_time)]
            position = high
        return bytes(out)

    async def play(self, pcm):
        if not pcm:
            return
        self.response_id += 1
        response_id, chunk = self.response_id, 2 * self.samples(self.CHUNK_MS)
        self.unplayed.add(response_id)
        self.log.info("response %d: %.0f ms", response_id, len(pcm) / 2 / self.rate * 1000)
        for offset in range(0, len(pcm), chunk):
            await self.session.send_audio(response_id, pcm[offset:offset + chunk])
        await self.session.send_control("mark", name=f"response-{response_id}-end")
        await self.session.send_control("response.done", response_id=response_id)


MODELS = {"echo": EchoModel, "parrot": ParrotModel}


# --- stdio transport ---------------------------------------------------------------------------------------------

class StdioTransport:
    """Frames | length u32 BE | kind u8 | body (length - 1 bytes) | on stdin/stdout pipes."""

    async def open(self, stdin, stdout):
        loop = asyncio.get_running_loop()
        self.reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(self.reader), stdin)
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, stdout)
        transport.set_write_buffer_limits(0)  # drain() then returns once all is in the pipe: nothing lost at exit
        self.writer = asyncio.StreamWriter(transport, protocol, None, loop)

    async def receive(self):
        try:
            head = await self.reader.readexactly(4)
        except asyncio.IncompleteReadError as eof:
            if not eof.partial:
                return None  # stdin ended between frames
            raise ProtocolError("bad_frame", "input ended inside a frame length (truncated frame)") from None
        (length,) = struct.unpack(">I", head)
        if length == 0:
            raise ProtocolError("bad_frame", "frame length 0 (the length counts the kind byte)")
        if length > MAX_FRAME_LENGTH:  # refuse before reading: never allocate what the relay announces
            raise ProtocolError("frame_too_large", f"frame length {length} over {MAX_FRAME_LENGTH}")
        try:
            frame = await self.reader.readexactly(length)
        except asyncio.IncompleteReadError as eof:
            raise ProtocolError("bad_frame", f"input ended inside a frame (truncated frame: "
                                f"{len(eof.partial)} of {length} bytes)") from None
        if frame[0] not in (KIND_CONTROL, KIND_AUDIO):
            raise ProtocolError("bad_frame", f"frame kind {frame[0]:#04x}")
        return frame[0], frame[1:]

    async def send(self, kind, body):
        self.writer.write(struct.pack(">IB", len(body) + 1, kind) + body)
        await self.writer.drain()


async def run_stdio(model_class, stdin, stdout):
    transport = StdioTransport()
    await transport.open(stdin, stdout)
    error = await Session(transport, model_class, "stdio").run()
    transport.writer.close()
    return 0 if error is None else 1


# --- WebSocket transport (RFC 6455, server side) -----------------------------------------------------------------

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3: appended to the key for the accept hash
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
HANDSHAKE_TIMEOUT, CLOSE_TIMEOUT = 10, 2  # seconds: a silent client cannot hold a connection forever


def websocket_accept(key):
    return base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()


def unmask(data, mask):
    """XOR with the repeated 4-byte mask (§5.3), as one big-integer operation (fast in pure Python)."""
    key = (mask * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


def valid_close_code(code):  # §7.4: codes an endpoint may send in a close frame
    return 1000 <= code <= 1014 and code not in (1004, 1005, 1006) or 3000 <= code <= 4999


class WebSocketTransport:
    """One connection after the handshake: control messages are text messages, audio messages binary."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.close_sent = self.close_received = False

    async def read_frame(self, room):
        """One frame (§5.2), unmasked; `room` is how many bytes the current message may still grow by."""
        first, second = await self.reader.readexactly(2)
        fin, opcode, length = first & 0x80, first & 0x0F, second & 0x7F
        if first & 0x70:
            raise ProtocolError(None, "reserved bits set, but no extension was negotiated")
        if opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG):
            raise ProtocolError(None, f"unknown opcode {opcode:#x}")
        if not second & 0x80:
            raise ProtocolError(None, "client frame not masked (§5.1)")
        if length == 126:
            (length,) = struct.unpack(">H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", await self.reader.readexactly(8))
        if opcode >= OP_CLOSE and (not fin or length > 125):
            raise ProtocolError(None, "control frame fragmented or over 125 bytes (§5.5)")
        if length > room:  # refuse before reading the payload
            raise ProtocolError("frame_too_large", f"message over {MAX_MESSAGE} bytes", close_code=1009)
        mask = await self.reader.readexactly(4)
        return fin, opcode, unmask(await self.reader.readexactly(length), mask)

    async def receive(self):
        parts, size, message_opcode = [], 0, None
        while True:
            try:
                fin, opcode, payload = await self.read_frame(MAX_MESSAGE - size)
            except (asyncio.IncompleteReadError, ConnectionError):
                return None  # TCP closed without a close frame
            if opcode == OP_PING:
                await self.send_frame(OP_PONG, payload)
            elif opcode == OP_CLOSE:
                self.close_received = True
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1000
                if len(payload) == 1 or not valid_close_code(code):
                    raise ProtocolError(None, "bad close frame")
                await self.close(code)  # echo the client's code (§5.5.1)
                return None
            elif opcode != OP_PONG:  # a data frame
                if (opcode == OP_CONTINUATION) != (message_opcode is not None):
                    raise ProtocolError(None, "continuation frame without a message, or a message inside one")
                message_opcode = message_opcode or opcode
                parts.append(payload)
                size += len(payload)
                if fin:
                    body = b"".join(parts)
                    if message_opcode == OP_BINARY:
                        return KIND_AUDIO, body
                    try:
                        body.decode("utf-8")
                    except UnicodeDecodeError:
                        raise ProtocolError(None, "text message not UTF-8", close_code=1007) from None
                    return KIND_CONTROL, body

    async def send_frame(self, opcode, payload):
        """One unmasked frame (servers do not mask), FIN set, with a 7-, 16- or 64-bit length."""
        length = len(payload)
        if length < 126:
            head = struct.pack(">BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            head = struct.pack(">BBH", 0x80 | opcode, 126, length)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 127, length)
        self.writer.write(head + payload)
        await self.writer.drain()

    async def send(self, kind, body):
        await self.send_frame(OP_TEXT if kind == KIND_CONTROL else OP_BINARY, body)

    async def close(self, code=1000, reason="", clean=True):
        """Sends our close frame (once), then closes TCP (the server closes first, §7.1.1) once the client has
        answered: with its close frame after a clean end; after a failure (the stream may be mid-frame) by closing
        its side, all it still sends being discarded, as closing with unread data would reset the connection and
        could lose our close frame. Both waits are bounded."""
        try:
            if not self.close_sent:
                self.close_sent = True
                await self.send_frame(OP_CLOSE, struct.pack(">H", code) + reason.encode()[:123])
            async with asyncio.timeout(CLOSE_TIMEOUT):
                while clean and not self.close_received:
                    self.close_received = (await self.read_frame(MAX_MESSAGE))[1] == OP_CLOSE
                if not clean:
                    self.writer.write_eof()
                    while await self.reader.read(1 << 16):
                        pass
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ProtocolError):
            pass
        finally:
            self.writer.close()


async def websocket_handshake(reader, writer, default_model):
    """§4.2: reads the HTTP/1.1 Upgrade request and answers 101, or an HTTP error (returns None)."""
    try:
        async with asyncio.timeout(HANDSHAKE_TIMEOUT):
            request = await reader.readuntil(b"\r\n\r\n")  # at most the reader's limit (64 KiB)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        return None
    lines = request.decode("latin-1").split("\r\n")
    method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()

    def tokens(name):
        return {token.strip().lower() for token in headers.get(name, "").split(",")}
    key = headers.get("sec-websocket-key", "")
    try:
        key_ok = len(base64.b64decode(key, validate=True)) == 16
    except binascii.Error:
        key_ok = False
    model = path.split("?")[0].strip("/") or default_model
    extra = ""
    if method != "GET" or version != "HTTP/1.1" or "websocket" not in tokens("upgrade") \
            or "upgrade" not in tokens("connection") or not key_ok:
        status = "400 Bad Request"
    elif headers.get("sec-websocket-version") != "13":
        status, extra = "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n"
    elif model not in MODELS:
        status = "404 Not Found"
    else:
        writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Accept: {websocket_accept(key)}\r\n\r\n").encode())
        return MODELS[model]
    writer.write(f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
    return None


async def serve_websocket(host, port, default_model, tls=None):
    async def on_connection(reader, writer):
        peer = "%s:%d" % writer.get_extra_info("peername")[:2]
        try:
            model_class = await websocket_handshake(reader, writer, default_model)
            if model_class is None:
                log.info("[%s] handshake refused", peer)
                return
            websocket = WebSocketTransport(reader, writer)
            error = await Session(websocket, model_class, peer).run()
            if error is None:
                await websocket.close(1000)
            else:
                await websocket.close(error.close_code, str(error), clean=False)
        except Exception:
            log.exception("[%s] connection failed", peer)
        finally:
            writer.close()

    server = await asyncio.start_server(on_connection, host, port, ssl=tls)
    for sock in server.sockets:
        address = sock.getsockname()
        shown = f"[{address[0]}]" if ":" in address[0] else address[0]
        log.info("listening on %s://%s:%d/ (paths: %s)", "wss" if tls else "ws", shown, address[1],
                 ", ".join(f"/{m}" for m in MODELS))
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stopped.set)
    async with server:
        await stopped.wait()
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8765",
                      help="serve WebSocket on HOST:PORT (default %(default)s; port 0 picks a free one, logged)")
    mode.add_argument("--stdio", action="store_true", help="serve one session on stdin/stdout")
    parser.add_argument("--model", choices=sorted(MODELS), default="echo",
                        help="the model for --stdio and for the WebSocket path / (default %(default)s)")
    parser.add_argument("--tls-cert", metavar="PEM", help="serve wss:// with this certificate chain (with --tls-key)")
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every control message")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if args.stdio:
        stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
        sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol on stdout
        return asyncio.run(run_stdio(MODELS[args.model], stdin, stdout))
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        parser.error(f"--listen {args.listen}: expected HOST:PORT, e.g. 127.0.0.1:8765 or [::1]:8765")
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            parser.error("--tls-cert and --tls-key go together")
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    return asyncio.run(serve_websocket(host.strip("[]"), int(port), args.model, tls))


if __name__ == "__main__":
    sys.exit(main())
