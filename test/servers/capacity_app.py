"""An OpenAI-style streaming chat server of known capacity, on uvicorn + FastAPI (as vLLM, SGLang and LiteLLM serve).

Run by fluxperf's capacity test (test/capacity/realServer.test.ts):
    python3 capacity_app.py [--slots K] [--token-ms G]
It binds 127.0.0.1:0 and prints the port on its first line (as uvicorn_app.py), and serves GET /v1/models.

POST /v1/chat/completions streams at most K answers at once (--slots, default 4). A request beyond them
waits in FIFO order before its first byte of content (the role chunk included), as in a server whose
batch is full. Once it holds a slot it generates `max_tokens` tokens, one every G ms (--token-ms,
default 10; the gaps are kept on an absolute schedule so sleep overshoot does not add up), frees the
slot, then sends a chunk with the usage and `data: [DONE]`.

Its capacity is therefore K / (max_tokens × G ms) requests per second: e.g. K = 3, max_tokens = 10,
G = 10 ms serve at most 3 / 0.1 s = 30 requests/s. Below that rate a request paced evenly finds a free
slot and its first token comes G ms after it is sent; above it the queue, and the time to first token,
grow without bound.
"""
import argparse
import asyncio
import collections
import json
import socket
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

parser = argparse.ArgumentParser()
parser.add_argument("--slots", type=int, default=4, help="answers streamed at once (K)")
parser.add_argument("--token-ms", type=float, default=10, help="gap between tokens, ms (G)")
args = parser.parse_args()
if args.slots < 1 or args.token_ms <= 0:
    sys.exit("--slots must be >= 1 and --token-ms > 0")


class FifoSlots:
    """K slots handed out strictly in arrival order (a waiter that gives up passes its turn on)."""

    def __init__(self, slots: int):
        self.free = slots
        self.waiters: collections.deque = collections.deque()

    async def acquire(self) -> None:
        if self.free > 0 and not self.waiters:
            self.free -= 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # Handed a slot in the same moment it was cancelled: pass it on.
            if waiter.done() and not waiter.cancelled():
                self.release()
            raise

    def release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1


slots = FifoSlots(args.slots)
gap_s = args.token_ms / 1000
app = FastAPI()


def chunk(delta: dict, finish_reason=None, usage=None) -> str:
    body = {"id": "chatcmpl-capacity", "object": "chat.completion.chunk", "model": "capacity-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    if usage is not None:
        body["usage"] = usage
    return "data: " + json.dumps(body) + "\n\n"


@app.get("/v1/models")
async def models():
    return {"object": "list", "data": [{"id": "capacity-model", "object": "model", "owned_by": "capacity-test"}]}


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body = await request.json()
    tokens = max(1, int(body.get("max_tokens") or body.get("max_completion_tokens") or 16))
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens, "total_tokens": prompt_tokens + tokens}

    if not body.get("stream"):
        await slots.acquire()
        try:
            await asyncio.sleep(tokens * gap_s)
        finally:
            slots.release()
        return JSONResponse({"id": "chatcmpl-capacity", "object": "chat.completion", "model": "capacity-model",
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": " t" * tokens}, "finish_reason": "length"}],
                             "usage": usage})

    async def events():
        # The wait for a slot comes before any chunk: the time to first token includes the queue.
        await slots.acquire()
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            yield chunk({"role": "assistant"})
            for i in range(tokens):
                # Token i + 1 is due (i + 1) × G after the slot was taken, however late the last sleep woke.
                await asyncio.sleep(max(0.0, start + (i + 1) * gap_s - loop.time()))
                yield chunk({"content": f" t{i}"})
        finally:
            slots.release()
        yield chunk({}, "length", usage)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


# IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose
# proto says TCP, and accepted sockets inherit it. Without it, a chunk written while the previous one is
# unacknowledged waits for the client's delayed ACK (about 40 ms), which would blur the TTFT knee.
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
# Listening before the port is printed: a client may connect before uvicorn has started.
sock.listen(1024)
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, log_level="warning")
uvicorn.Server(config).run(sockets=[sock])
sys.exit(0)
