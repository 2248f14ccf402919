#!/usr/bin/python3
"""Misbehaving models for the relay's failure tests, built on the reference model (Docs/examples/earshot_model.py)
so that only the fault differs from a correct model. Each echoes like the reference echo until its fault:

  fault-crash      exits with status 3 after 25 input frames (a crash mid-session)
  fault-close      ends its transport without stop after 25 frames (exit 0 on stdio, TCP close on WebSocket)
  fault-stall      stops reading after 25 frames (blocks its event loop for an hour)
  fault-malformed  after 25 frames sends bad JSON, an audio header of the wrong type, an odd PCM payload and an
                   unknown type, then goes on echoing
  fault-oversize   after 25 frames announces a stdio frame of 2 GiB (on WebSocket: a 2 MiB message)
  fault-badformat  answers session.start with pcm16/44100, which no relay offers
  fault-silent     never answers session.start
  fault-error      after 25 frames sends error model_crashed

Usage as the reference model: --stdio --model fault-crash, or --listen HOST:PORT with the fault as URL path.
"""

import asyncio
import os
import pathlib
import struct
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "Docs" / "examples"))
import earshot_model as em  # noqa: E402

FAULT_AFTER = 25


def fault_model(mode):
    class FaultModel(em.EchoModel):
        async def on_session_start(self, start):
            self.frames = 0
            if mode == "silent":
                await asyncio.sleep(3600)
            if mode == "badformat":
                return {"encoding": "pcm16", "sample_rate": 44100}
            return await super().on_session_start(start)

        async def on_audio(self, audio):
            self.frames += 1
            if self.frames != FAULT_AFTER:
                await super().on_audio(audio)
                return
            transport = self.session.transport
            self.session.log.info("fault %s now", mode)
            if mode == "crash":
                os._exit(3)
            elif mode == "close":
                if isinstance(transport, em.StdioTransport):
                    os._exit(0)
                transport.writer.transport.abort()
            elif mode == "stall":
                time.sleep(3600)
            elif mode == "malformed":
                await transport.send(em.KIND_CONTROL, b'{"type": "clear"')
                await transport.send(em.KIND_AUDIO, em.AUDIO_HEADER.pack(0x01, 0, 0, 0, 0, 0) + b"\0\0")
                await transport.send(em.KIND_AUDIO, em.AUDIO_HEADER.pack(0x02, 0, 0, 0, 1, 0) + b"\0\0\0")
                await self.session.send_control("response.create")
                await super().on_audio(audio)
            elif mode == "oversize":
                if isinstance(transport, em.StdioTransport):
                    transport.writer.write(struct.pack(">IB", 0x7FFFFFFF, em.KIND_AUDIO) + b"\0" * 1000)
                    await transport.writer.drain()
                else:
                    await transport.send(em.KIND_AUDIO, bytes(2 << 20))
            elif mode == "error":
                await self.session.send_control("error", code="model_crashed", message="a simulated failure")

    FaultModel.__name__ = f"Fault{mode.title()}Model"
    return FaultModel


for name in ("crash", "close", "stall", "malformed", "oversize", "badformat", "silent", "error"):
    em.MODELS[f"fault-{name}"] = fault_model(name)

if __name__ == "__main__":
    sys.exit(em.main())
