/**
 * Micro-benchmarks of the hot paths with tinybench: SSE parsing (MB/s and chunks/s), chunk decoding,
 * histogram recording (ns/op).   node bench/micro.ts
 */
import { Bench } from 'tinybench'
import { SseParser } from '../src/client/sse.ts'
import { decodeChunk } from '../src/client/openai.ts'
import { newFastChunkFields, readFastChunk } from '../src/client/fastChunk.ts'
import { MetricRecorder } from '../src/metrics/index.ts'

const CHUNK = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":" tok"},"logprobs":null,"finish_reason":null}]}\n\n'
const PER_BUFFER = 64
const buffer = Buffer.from(CHUNK.repeat(PER_BUFFER))
const json = CHUNK.slice(6, -2)
const jsonBytes = Buffer.from(json)

export interface MicroResult {
  name: string
  nsPerOp: number
  opsPerS: number
  /** For the SSE benches: content chunks per second and MB/s through the parser. */
  chunksPerS?: number
  mbPerS?: number
}

export async function runMicro(): Promise<MicroResult[]> {
  const bench = new Bench({ time: 1000, warmupTime: 200 })
  let sink = 0
  const framing = new SseParser((data) => (sink += data.length))
  // As the client reads a stream: content chunks in place from the bytes, anything else through JSON.parse.
  const fields = newFastChunkFields()
  const framingAndJson = new SseParser(
    (data) => (sink += decodeChunk(data).text.length),
    (buf, start, end) => {
      if (!readFastChunk(buf, start, end, fields)) return false
      sink += fields.textEnd - fields.textStart
      return true
    },
  )
  const recorder = new MetricRecorder()
  let v = 0
  bench
    .add(`SSE framing, ${PER_BUFFER} chunks per buffer`, () => framing.push(buffer, 0))
    .add(`SSE framing + chunk decode, ${PER_BUFFER} chunks per buffer`, () => framingAndJson.push(buffer, 0))
    .add('chunk read in place (fastChunk.ts)', () => (sink += readFastChunk(jsonBytes, 0, jsonBytes.length, fields) ? fields.textEnd : 0))
    .add('chunk decode (JSON.parse + fields)', () => (sink += decodeChunk(json).text.length))
    .add('histogram record', () => recorder.record((v = (v + 7.3) % 5000)))
  await bench.run()
  if (sink < 0) console.log(sink)
  return bench.tasks.map((task) => {
    const mean = task.result && 'latency' in task.result ? task.result.latency.mean : NaN // ms
    const nsPerOp = mean * 1e6
    const perBuffer = task.name.includes('per buffer')
    return {
      name: task.name,
      nsPerOp,
      opsPerS: 1e9 / nsPerOp,
      ...(perBuffer ? { chunksPerS: (PER_BUFFER * 1e9) / nsPerOp, mbPerS: (buffer.length / 1e6) * (1e9 / nsPerOp) } : {}),
    }
  })
}

if (import.meta.main) {
  for (const r of await runMicro()) {
    console.log(`${r.name.padEnd(52)} ${r.nsPerOp.toFixed(0).padStart(8)} ns/op${r.chunksPerS ? `  ${(r.chunksPerS / 1e6).toFixed(2)} M chunks/s  ${r.mbPerS?.toFixed(0)} MB/s` : ''}`)
  }
}
