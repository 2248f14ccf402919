#!/usr/bin/python3
"""A model server that starts the Earshot relay as its child: the relay in sidecar mode (`earshot serve --model
stdio`) speaks the model protocol earshot-model/1 (Docs/model-protocol.md) on its own stdin and stdout, all sessions
multiplexed on the one pair of pipes, and this script serves the reference models of earshot_model.py (echo,
parrot) through it. Use it as the starting point of a model that wants to own the relay's lifetime: one process to
start, no port for the model, no process per call.

  python3 Docs/examples/earshot_sidecar.py --earshot .build/release/earshot --model parrot -- --http 127.0.0.1:8080

runs `.build/release/earshot serve --model stdio --http 127.0.0.1:8080` (everything after `--` is passed to
`earshot serve`; without --earshot, `earshot` is looked up on PATH). Once the relay listens, this script prints one
JSON line to its stdout, and nothing else:

  {"event":"ready","whip_url":"http://127.0.0.1:8080/v1/whip","http":"127.0.0.1:8080","udp":"127.0.0.1:50000"}

Callers then reach the model through the relay's WHIP endpoint. Logs (this script's and the relay's) go to stderr.

The pipes (the relay's view: its stdout carries relay -> model frames, its stdin model -> relay frames):

  | length u32 BE | kind u8 | id_length u8 | session id (id_length bytes, ASCII) | body |

`length` counts everything after itself; kind 0x01 is a control message (JSON), 0x02 an audio message (24-byte
header + payload), the bodies of the one-session transports. An empty id is a relay-level message (relay.ready).
Each session starts with session.start under its id and runs as on the other transports, through
earshot_model.Session; session.start's optional "model" member (the caller's `POST /v1/whip?model=NAME`, when the
relay was started with `--named-model NAME=stdio`) picks the model class if it names one of MODELS, else --model
does. A session is over on the pipe once either side has sent stop for its id; a session that ends on an error
sends error, then stop.

Bounds: a frame's length is checked before its body is read (a length over 1 + 1 + 255 + 1 MiB loses the stream:
the relay is shut down); each session queues at most 256 messages from the relay (a model that falls that far
behind is stopped, with an error logged). Frames of length 0, of an unknown kind, with an id longer than the frame,
with a body over 1 MiB, and frames for an unknown or ended session are skipped and counted.

Shutdown: on SIGINT or SIGTERM, or when the relay's stdout ends, this script closes the relay's stdin (the relay
then sends stop for every live session and exits), waits for the relay to exit (at most --shutdown-timeout seconds,
then kills it) and exits with the relay's status: 0 after a clean shutdown, 128 + N if the relay was ended by
signal N, 1 if the relay's stream was lost, 127 if the relay could not be started. A second SIGINT or SIGTERM kills
the relay at once. If the relay exits on its own, this script exits with its status.

Your model: add it to MODELS in earshot_model.py (or to earshot_model.MODELS before calling main() here).

Python 3.11, standard library only.
"""

import argparse
import asyncio
import collections
import json
import logging
import os
import shutil
import signal
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import earshot_model as em  # noqa: E402  (the models, Session and the message parsing)

MAX_ID = 255  # the id length is one byte
MAX_FRAME_LENGTH = 1 + 1 + MAX_ID + em.MAX_MESSAGE  # kind, id length, id, body: 1 048 833
FRAME_HEAD = struct.Struct(">IBB")  # length, kind, id length
QUEUE_LIMIT = 256  # messages from the relay waiting for one session; beyond it the session is stopped
ENDED_REMEMBERED = 1024  # recently ended session ids, so that their late frames are logged as such (bounded)
SESSION_END_TIMEOUT = 2  # seconds the sessions get to finish once the relay's stream has ended

log = logging.getLogger("earshot_sidecar")


def encode_frame(session_id, kind, body):
    """One frame: | length u32 BE | kind u8 | id_length u8 | id | body |."""
    ident = session_id.encode("ascii")
    if len(ident) > MAX_ID:
        raise ValueError(f"session id of {len(ident)} bytes, over {MAX_ID}")
    if len(body) > em.MAX_MESSAGE:
        raise ValueError(f"message of {len(body)} bytes, over {em.MAX_MESSAGE}")
    return FRAME_HEAD.pack(2 + len(ident) + len(body), kind, len(ident)) + ident + body


def decode_frame(frame):
    """The `length` bytes after a frame's length field -> (kind, session id, body); ValueError if malformed."""
    if not frame:
        raise ValueError("frame length 0")
    kind = frame[0]
    if kind not in (em.KIND_CONTROL, em.KIND_AUDIO):
        raise ValueError(f"frame kind {kind:#04x}")
    if len(frame) < 2:
        raise ValueError("frame without an id length")
    end = 2 + frame[1]
    if end > len(frame):
        raise ValueError(f"id length {frame[1]} longer than the rest of the frame ({len(frame) - 2} bytes)")
    try:
        session_id = frame[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("session id not ASCII") from None
    if len(frame) - end > em.MAX_MESSAGE:
        raise ValueError(f"body of {len(frame) - end} bytes, over {em.MAX_MESSAGE}")
    return kind, session_id, frame[end:]


def control_type(body):
    """(type, message) of a control message body; (None, None) if it is not a JSON object with a string type."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return None, None
    return message["type"], message


class SessionTransport:
    """One session's side of the pipes, as earshot_model.Session expects: receive() from a bounded queue that the
    frame reader fills, send() as one frame with the session's id."""

    def __init__(self, mux, session_id):
        self.mux, self.session_id = mux, session_id
        self.queue = asyncio.Queue(QUEUE_LIMIT)
        self.stop_received = self.stop_sent = False
        self.task = None

    @property
    def over(self):
        """Either side has sent stop: no more frames for this id."""
        return self.stop_received or self.stop_sent

    async def receive(self):
        message = await self.queue.get()
        if message is not None and message[0] == em.KIND_CONTROL and control_type(message[1])[0] == "stop":
            self.stop_received = True
        return message

    async def send(self, kind, body):
        if self.over:
            raise ConnectionResetError(f"session {self.session_id} has ended")
        if kind == em.KIND_CONTROL and control_type(body)[0] == "stop":
            self.stop_sent = True
        await self.mux.send(self.session_id, kind, body)


class Sidecar:
    """The relay as a child process: reads its stdout, routes frames to sessions, writes their output to its stdin."""

    def __init__(self, process, default_model):
        self.process, self.default_model = process, default_model
        self.sessions = {}  # id -> SessionTransport of a live session
        self.ended = collections.OrderedDict()  # recently ended ids (bounded)
        self.counters = collections.Counter()
        self.ready = None  # relay.ready, once received
        self.stdin_closed = self.stream_lost = False
        self.frames_done = asyncio.Event()  # the frame stream has ended (EOF, or lost)
        self.background = set()

    # --- model -> relay --------------------------------------------------------------------------------------

    async def send(self, session_id, kind, body):
        """One frame to the relay, in one write: frames of concurrent sessions never interleave."""
        if self.stdin_closed:
            raise ConnectionResetError("the relay's stdin is closed")
        self.process.stdin.write(encode_frame(session_id, kind, body))
        await self.process.stdin.drain()

    def close_stdin(self):
        if not self.stdin_closed:
            self.stdin_closed = True
            self.process.stdin.close()  # what is buffered is still written, then the relay sees EOF

    # --- relay -> model --------------------------------------------------------------------------------------

    async def read_frames(self):
        """Reads the relay's stdout until it ends. After a fatal framing fault the rest is read and discarded, so
        that a relay shutting down never blocks on a full pipe."""
        reader = self.process.stdout
        try:
            while True:
                try:
                    head = await reader.readexactly(4)
                except asyncio.IncompleteReadError as eof:
                    if eof.partial:
                        self.bad_frame("the relay's stdout ended inside a frame length")
                    break
                (length,) = struct.unpack(">I", head)
                if length == 0:
                    self.bad_frame("frame length 0")
                    continue
                if length > MAX_FRAME_LENGTH:  # refuse before reading: never allocate what the relay announces
                    log.error("frame length %d over %d: the stream from the relay is lost", length, MAX_FRAME_LENGTH)
                    self.stream_lost = True
                    self.frames_done.set()
                    while await reader.read(1 << 16):
                        pass
                    break
                try:
                    frame = await reader.readexactly(length)
                except asyncio.IncompleteReadError as eof:
                    self.bad_frame(f"the relay's stdout ended inside a frame ({len(eof.partial)} of {length} bytes)")
                    break
                self.route(frame)
                await asyncio.sleep(0)  # let the sessions take what was routed: a burst from the pipe's buffer
                # is not a model falling behind
        except Exception:
            log.exception("reading the relay's stdout failed")
            self.stream_lost = True
        finally:
            self.frames_done.set()

    def bad_frame(self, why):
        self.counters["bad_frame"] += 1
        log.warning("bad_frame: %s (skipped)", why)

    def route(self, frame):
        try:
            kind, session_id, body = decode_frame(frame)
        except ValueError as error:
            self.bad_frame(str(error))
            return
        if not session_id:
            self.relay_message(kind, body)
            return
        session = self.sessions.get(session_id)
        if session is not None:
            self.deliver(session, kind, body)
            return
        type_, message = control_type(body) if kind == em.KIND_CONTROL else (None, None)
        if type_ == "session.start" and session_id not in self.ended:
            self.start_session(session_id, message, kind, body)
        else:
            self.counters["frames_for_ended_session" if session_id in self.ended else "frames_for_unknown_session"] += 1
            log.debug("dropping a %s for %s session %r",
                      type_ or ("control message" if kind == em.KIND_CONTROL else "audio message"),
                      "ended" if session_id in self.ended else "unknown", session_id)

    def relay_message(self, kind, body):
        type_, message = control_type(body) if kind == em.KIND_CONTROL else (None, None)
        if type_ == "relay.ready" and self.ready is None:
            self.ready = message
            if message.get("protocol") != em.PROTOCOL:
                log.warning("the relay speaks %r, not %s", message.get("protocol"), em.PROTOCOL)
            log.info("relay ready: WHIP at %s, HTTP %s, UDP %s", message.get("whip_url"), message.get("http"),
                     message.get("udp"))
            line = {"event": "ready", "whip_url": message.get("whip_url"), "http": message.get("http"),
                    "udp": message.get("udp")}
            sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        else:
            self.counters["relay_messages_ignored"] += 1
            log.info("ignoring a relay-level %s", type_ or "message")

    def start_session(self, session_id, message, kind, body):
        name = message.get("model")
        if isinstance(name, str) and name in em.MODELS:
            model_class = em.MODELS[name]
        else:
            if name is not None:
                log.warning("session %s asks for model %r, which is not one of %s: serving %s", session_id, name,
                            sorted(em.MODELS), self.default_model)
            model_class = em.MODELS[self.default_model]
        if message.get("session_id") != session_id:
            log.warning("session.start under id %r names session_id %r", session_id, message.get("session_id"))
        session = SessionTransport(self, session_id)
        self.sessions[session_id] = session
        session.queue.put_nowait((kind, body))
        session.task = asyncio.create_task(self.run_session(session, model_class))
        log.info("session %s: model %s (%d live)", session_id, model_class.__name__, len(self.sessions))

    def deliver(self, session, kind, body):
        try:
            session.queue.put_nowait((kind, body))
        except asyncio.QueueFull:
            self.counters["sessions_overrun"] += 1
            log.error("session %s: the model fell %d messages behind the relay: stopping the session",
                      session.session_id, QUEUE_LIMIT)
            self.forget(session)
            session.task.cancel()
            if not session.over:
                session.stop_sent = True  # nothing more from the model for this id
                self.spawn(self.send_stop(session.session_id, "model_overrun: input queue full"))

    async def send_stop(self, session_id, reason):
        try:
            await self.send(session_id, em.KIND_CONTROL,
                            json.dumps({"type": "stop", "reason": reason}, separators=(",", ":")).encode())
        except OSError:  # the relay is gone
            pass

    def spawn(self, coroutine):
        task = asyncio.create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def forget(self, session):
        if self.sessions.get(session.session_id) is session:
            del self.sessions[session.session_id]
            self.ended[session.session_id] = True
            while len(self.ended) > ENDED_REMEMBERED:
                self.ended.popitem(last=False)

    async def run_session(self, session, model_class):
        try:
            error = await em.Session(session, model_class, f"session {session.session_id}").run()
            # A model that ends on an error closes its side: on these pipes that is stop.
            if error is not None and not session.over and not self.stdin_closed:
                session.stop_sent = True
                await self.send_stop(session.session_id, f"model ended: {error.code or 'error'}")
        finally:
            self.forget(session)

    async def end_sessions(self):
        """The relay's stream has ended: sessions still live see their transport close."""
        tasks = []
        for session in list(self.sessions.values()):
            tasks.append(session.task)
            try:
                session.queue.put_nowait(None)
            except asyncio.QueueFull:
                session.task.cancel()
        tasks += list(self.background)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=SESSION_END_TIMEOUT)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=SESSION_END_TIMEOUT)


def exit_status(returncode):
    return returncode if returncode >= 0 else 128 - returncode


async def run(earshot, default_model, extra, shutdown_timeout):
    command = [earshot, "serve", "--model", "stdio", *extra]
    log.info("starting %s", " ".join(command))
    try:
        # Its own session: a Ctrl-C in the terminal reaches this script only, which shuts the relay down in order.
        process = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                       stdout=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as error:
        log.error("cannot start %s: %s", earshot, error)
        return 127
    sidecar = Sidecar(process, default_model)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum):
        if not stop.is_set():
            log.info("%s: shutting the relay down", signal.Signals(signum).name)
            stop.set()
        elif process.returncode is None:
            log.warning("%s again: killing the relay", signal.Signals(signum).name)
            process.kill()
    # A parent may have started us with these signals blocked (a blocked mask is inherited across exec, and
    # threads of some runtimes block every signal): unblock them, or a SIGTERM would wait forever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)

    reader = asyncio.create_task(sidecar.read_frames())
    waits = [asyncio.create_task(stop.wait()), asyncio.create_task(sidecar.frames_done.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in waits:
        task.cancel()
    # The relay sends stop for every live session once its stdin ends; the reader goes on until its stdout ends.
    sidecar.close_stdin()
    try:
        async with asyncio.timeout(shutdown_timeout):
            await asyncio.gather(asyncio.shield(reader), process.wait())
    except TimeoutError:
        if process.returncode is None:
            log.error("the relay has not exited %g s after its stdin closed: killing it", shutdown_timeout)
            process.kill()
        else:
            log.error("the relay has exited, but its stdout is still open (held by a process it started?)")
        try:
            async with asyncio.timeout(shutdown_timeout):
                await process.wait()
        except TimeoutError:
            log.error("the relay survived SIGKILL")
            return 1
        reader.cancel()
    await sidecar.end_sessions()
    status = exit_status(process.returncode)
    if sidecar.counters:
        log.info("frames and sessions counted: %s", dict(sorted(sidecar.counters.items())))
    log.info("the relay exited with status %d", status)
    if status == 0 and sidecar.stream_lost:
        return 1
    return status


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    own, extra = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     usage="%(prog)s [--earshot PATH] [--model NAME] [--log-level LEVEL] "
                                           "[-- earshot serve arguments ...]")
    parser.add_argument("--earshot", metavar="PATH",
                        help="the relay's executable, e.g. .build/release/earshot (default: earshot on PATH)")
    parser.add_argument("--model", choices=sorted(em.MODELS), default="parrot",
                        help="the model of sessions that name none, or an unknown one (default %(default)s)")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="INFO",
                        type=str.upper, help="this script's log level (default %(default)s; DEBUG logs every "
                                             "control message)")
    parser.add_argument("--shutdown-timeout", metavar="SECONDS", type=float, default=10.0,
                        help="how long the relay may take to exit once its stdin is closed (default %(default)g)")
    args = parser.parse_args(own)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    earshot = args.earshot or shutil.which("earshot")
    if earshot is None:
        parser.error("earshot is not on PATH: give its path, e.g. --earshot .build/release/earshot")
    if args.shutdown_timeout <= 0:
        parser.error("--shutdown-timeout must be above 0")
    return asyncio.run(run(earshot, args.model, extra, args.shutdown_timeout))


if __name__ == "__main__":
    sys.exit(main())
