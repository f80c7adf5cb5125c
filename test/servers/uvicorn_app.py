"""An OpenAI-style streaming chat server on uvicorn + FastAPI, as vLLM, SGLang and LiteLLM serve.

Run by fluxperf's conformance tests (test/conformance/realStacks.test.ts):
    python3 uvicorn_app.py [--keep-alive SECONDS] [--close]
It binds 127.0.0.1:0 and prints the port on its first line. --close answers every stream with
`Connection: close`; --keep-alive sets uvicorn's idle timeout (its default is 5 s, with no hint sent).
"""
import argparse
import asyncio
import json
import socket
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

parser = argparse.ArgumentParser()
parser.add_argument("--keep-alive", type=float, default=5)
parser.add_argument("--close", action="store_true")
args = parser.parse_args()

app = FastAPI()


@app.get("/v1/models")
async def models():
    return {"object": "list", "data": [{"id": "uvicorn-model", "object": "model", "owned_by": "conformance"}]}


@app.post("/v1/chat/completions")
async def chat(request: Request):
    body = await request.json()
    tokens = int(body.get("max_tokens") or 4)

    async def events():
        yield "data: " + json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}) + "\n\n"
        for i in range(tokens):
            await asyncio.sleep(0.002)
            yield "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": f" t{i}"}}]}) + "\n\n"
        usage = {"prompt_tokens": 5, "completion_tokens": tokens, "total_tokens": 5 + tokens}
        yield "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}], "usage": usage}) + "\n\n"
        yield "data: [DONE]\n\n"

    headers = {"connection": "close"} if args.close else {}
    if not body.get("stream"):
        return JSONResponse({"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}]}, headers=headers)
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


# IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets marked TCP,
# as uvicorn's own listening socket is; with 0, small chunks wait for the client's delayed ACK (~40 ms).
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
# Listening before the port is printed: a client may connect before uvicorn has started.
sock.listen(128)
print(sock.getsockname()[1], flush=True)
config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=args.keep_alive)
uvicorn.Server(config).run(sockets=[sock])
sys.exit(0)
