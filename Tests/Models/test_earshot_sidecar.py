"""Tests for Docs/examples/earshot_sidecar.py, the model server that starts the relay in sidecar mode
(`earshot serve --model stdio`, Docs/model-protocol.md, "Sidecar") and serves echo and parrot through it.

The relay is not needed: the example is started with `--earshot fake_sidecar_relay.py`, a script that plays the
relay's side of the multiplexed pipes in one of several choreographies (FAKE_RELAY_MODE) and writes its verdict to
a JSON file (FAKE_RELAY_RESULT). The test checks what the example prints (the ready line), its exit status and log,
and the fake relay's verdict. Every wait is bounded by TIMEOUT and nothing sleeps: the tests wait for lines and
exits.

Run: /usr/bin/python3 -m unittest discover -s Tests/Models
"""

import ast
import asyncio
import importlib.util
import json
import os
import re
import signal
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDECAR = os.path.join(ROOT, "Docs", "examples", "earshot_sidecar.py")
FAKE_RELAY = os.path.join(ROOT, "Tests", "Models", "fake_sidecar_relay.py")
TIMEOUT = 5  # seconds: the bound on every wait, so a failing test fails instead of hanging
MARKER = b"fake relay: choreography done"
READY_LINE = {"event": "ready", "whip_url": "http://127.0.0.1:18080/v1/whip", "http": "127.0.0.1:18080",
              "udp": "127.0.0.1:15000"}


def bounded(awaitable, timeout=TIMEOUT):
    return asyncio.wait_for(awaitable, timeout)


def process_gone(pid):
    """True if no process `pid` exists (reaped, not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


class SidecarRun:
    """The example, started on the fake relay in one of its modes; its stderr (and the fake's) is collected."""

    @classmethod
    async def start(cls, test, mode, *args, extra=(), earshot=FAKE_RELAY):
        run = cls()
        directory = tempfile.TemporaryDirectory()
        test.addCleanup(directory.cleanup)
        run.result = os.path.join(directory.name, "verdict.json")
        env = dict(os.environ, FAKE_RELAY_MODE=mode, FAKE_RELAY_RESULT=run.result)
        run.process = await asyncio.create_subprocess_exec(
            sys.executable, SIDECAR, "--earshot", earshot, *args, "--", *extra, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        run.log = bytearray()
        run.log_grew = asyncio.Event()
        run.log_reader = asyncio.create_task(run.collect_log())
        test.addAsyncCleanup(run.dispose)
        return run

    async def collect_log(self):
        while line := await self.process.stderr.readline():
            self.log += line
            self.log_grew.set()
        self.log_grew.set()

    async def wait_for_log(self, pattern):
        """The first match of `pattern` (bytes regex) in the log, waiting for it (bounded)."""
        async def wait():
            while not (found := re.search(pattern, self.log)):
                if self.log_reader.done():
                    raise AssertionError(f"the log ended without {pattern!r}:\n{self.log.decode()}")
                self.log_grew.clear()
                await self.log_grew.wait()
            return found
        return await bounded(wait())

    async def ready_line(self):
        line = await bounded(self.process.stdout.readline())
        return json.loads(line)

    async def exit_status(self):
        status = await bounded(self.process.wait())
        await bounded(self.log_reader)
        return status

    def verdict(self):
        with open(self.result) as file:
            return json.load(file)

    def counters(self):
        found = re.search(rb"frames and sessions counted: (\{.*\})", self.log)
        return ast.literal_eval(found.group(1).decode()) if found else {}

    async def dispose(self):
        if self.process.returncode is None:
            self.process.kill()
            await bounded(self.process.wait())
        if not self.log_reader.done():
            await bounded(self.log_reader)


class SidecarTests(unittest.IsolatedAsyncioTestCase):
    def assert_clean_log(self, run):
        self.assertNotIn(b"Traceback", run.log, run.log.decode())
        self.assertNotIn(b"FAILED", run.log, run.log.decode())

    async def test_sessions_interleaved_and_shutdown_on_sigterm(self):
        run = await SidecarRun.start(self, "sessions", "--model", "parrot", extra=("--http", "127.0.0.1:0"))
        self.assertEqual(await run.ready_line(), READY_LINE)
        fake_pid = int((await run.wait_for_log(rb"fake relay: pid (\d+)")).group(1))
        await run.wait_for_log(re.escape(MARKER))

        run.process.send_signal(signal.SIGTERM)
        self.assertEqual(await run.exit_status(), 0, run.log.decode())
        self.assertEqual(await bounded(run.process.stdout.read()), b"", "one line on stdout, nothing else")
        verdict = run.verdict()
        self.assertEqual(verdict["failures"], [], run.log.decode())
        self.assertEqual(verdict["argv"], ["serve", "--model", "stdio", "--http", "127.0.0.1:0"])
        self.assertTrue(verdict["stdin_eof"], "SIGTERM closes the relay's stdin")
        self.assertTrue(process_gone(fake_pid), "the relay was waited for")

        log = run.log.decode()
        self.assertIn("session sess-echo: model EchoModel", log)
        self.assertIn("session sess-parrot: model ParrotModel", log, "no model named: the default")
        self.assertIn("session sess-broken: model ParrotModel", log, "model null: the default")
        self.assertIn("session sess-unknown asks for model 'no-such-model'", log)
        self.assertIn("session sess-unknown: model ParrotModel", log, "an unknown name: the default")
        self.assertIn("[session sess-unknown] session ended: stop", log)
        self.assertIn("[session sess-echo] session ended: stop", log, "the relay's stop ends the echo")
        self.assertIn("[session sess-parrot] session ended: stop", log, "the relay's shutdown stop ends the parrot")
        self.assertIn("[session sess-broken] session ended: protocol error", log)
        self.assertEqual(run.counters(), {"bad_frame": 3, "frames_for_ended_session": 1,
                                          "frames_for_unknown_session": 2, "relay_messages_ignored": 1})
        self.assert_clean_log(run)

    async def test_a_model_that_falls_behind_is_stopped_and_others_go_on(self):
        run = await SidecarRun.start(self, "flood", "--model", "echo")
        self.assertEqual(await run.ready_line(), READY_LINE)
        await run.wait_for_log(re.escape(MARKER))
        run.process.send_signal(signal.SIGTERM)
        self.assertEqual(await run.exit_status(), 0, run.log.decode())
        self.assertEqual(run.verdict()["failures"], [], run.log.decode())
        self.assertIn(b"session sess-flood: the model fell 256 messages behind the relay", run.log)
        self.assertEqual(run.counters()["sessions_overrun"], 1)
        self.assertGreater(run.counters()["frames_for_ended_session"], 0)
        self.assert_clean_log(run)

    async def test_relay_exiting_on_its_own_gives_its_status(self):
        run = await SidecarRun.start(self, "exit")
        self.assertEqual(await run.ready_line(), READY_LINE)
        self.assertEqual(await run.exit_status(), 7, run.log.decode())
        self.assertEqual(run.verdict()["failures"], [])
        self.assert_clean_log(run)

    async def test_frame_over_the_limit_loses_the_stream(self):
        run = await SidecarRun.start(self, "oversize")
        self.assertEqual(await run.ready_line(), READY_LINE)
        self.assertEqual(await run.exit_status(), 1, run.log.decode())
        verdict = run.verdict()
        self.assertEqual(verdict["failures"], [], run.log.decode())
        self.assertTrue(verdict["stdin_eof"], "the relay is shut down")
        self.assertIn(b"frame length 1048834 over 1048833: the stream from the relay is lost", run.log)
        self.assert_clean_log(run)

    async def test_relay_that_does_not_exit_is_killed(self):
        run = await SidecarRun.start(self, "hang", "--shutdown-timeout", "0.5")
        self.assertEqual(await run.ready_line(), READY_LINE)
        fake_pid = int((await run.wait_for_log(rb"fake relay: pid (\d+)")).group(1))
        await run.wait_for_log(re.escape(MARKER))
        run.process.send_signal(signal.SIGTERM)
        self.assertEqual(await run.exit_status(), 128 + signal.SIGKILL, run.log.decode())
        self.assertIn(b"killing it", run.log)
        self.assertTrue(process_gone(fake_pid))
        self.assert_clean_log(run)

    async def test_missing_relay_executable(self):
        run = await SidecarRun.start(self, "sessions", earshot=os.path.join(ROOT, "no-such-earshot"))
        self.assertEqual(await run.exit_status(), 127)
        self.assertEqual(await bounded(run.process.stdout.read()), b"")
        self.assertIn(b"cannot start", run.log)

    async def test_help(self):
        process = await asyncio.create_subprocess_exec(sys.executable, SIDECAR, "--help",
                                                       stdout=asyncio.subprocess.PIPE)
        out, _ = await bounded(process.communicate())
        self.assertEqual(process.returncode, 0)
        for word in (b"--earshot", b".build/release/earshot", b"--model stdio", b"parrot", b"echo", b"relay.ready",
                     b"--log-level", b"earshot-model/1"):
            self.assertIn(word, out)


class FramingTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        spec = importlib.util.spec_from_file_location("earshot_sidecar", SIDECAR)
        cls.sidecar = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.sidecar)

    def test_documented_example(self):
        # Docs/model-protocol.md, "Sidecar": {"type":"clear"} from the model in session a1.
        frame = bytes.fromhex("00 00 00 14 01 02 61 31 7b 22 74 79 70 65 22 3a 22 63 6c 65 61 72 22 7d")
        self.assertEqual(self.sidecar.encode_frame("a1", 1, b'{"type":"clear"}'), frame)
        self.assertEqual(self.sidecar.decode_frame(frame[4:]), (1, "a1", b'{"type":"clear"}'))
        self.assertEqual(self.sidecar.MAX_FRAME_LENGTH, 1 + 1 + 255 + 1048576)

    def test_relay_level_and_limits(self):
        self.assertEqual(self.sidecar.decode_frame(b"\x01\x00{}"), (1, "", b"{}"))
        longest = "x" * 255
        body = bytes(1 << 20)
        frame = self.sidecar.encode_frame(longest, 2, body)
        self.assertEqual(len(frame) - 4, self.sidecar.MAX_FRAME_LENGTH)
        self.assertEqual(self.sidecar.decode_frame(frame[4:]), (2, longest, body))
        with self.assertRaises(ValueError):
            self.sidecar.encode_frame("x" * 256, 1, b"{}")
        with self.assertRaises(ValueError):
            self.sidecar.encode_frame("a", 2, bytes((1 << 20) + 1))

    def test_malformed_frames(self):
        for name, frame in (("empty", b""), ("kind 3", b"\x03\x00{}"), ("no id length", b"\x01"),
                            ("id longer than the frame", b"\x01\x05ab"), ("id not ASCII", b"\x01\x01\xff{}"),
                            ("body over 1 MiB", b"\x02\x00" + bytes((1 << 20) + 1))):
            with self.subTest(name), self.assertRaises(ValueError):
                self.sidecar.decode_frame(frame)


if __name__ == "__main__":
    unittest.main()
