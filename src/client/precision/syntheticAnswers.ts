/**
 * Synthetic streamed answers in the chunk styles of real servers, for the warm-up (warmUp.ts): the
 * code that reads a response should have met, before a run's clock starts, the shapes a measured server
 * may send.
 */
import type { ApiKind } from '../openai.ts'

/** Token events per packet: two, so the per-event code (SSE dispatch) gets twice the calls of the per-read code, as it needs to reach V8's optimising tier. */
export const EVENTS_PER_PACKET = 2

/**
 * How servers write their chunks: the members around `choices` and their order, the choice's own
 * members, and where the final usage goes (vLLM, vLLM with a usage chunk of its own, OpenAI, SGLang,
 * llama.cpp, TGI, and servers that write no `logprobs`). The warm-up answers in each style in turn, so the decoder's reads of a parsed chunk have
 * met many shapes and stay generic: warmed on one, TurboFan specialised them to it and discarded the
 * code when a measured server's first chunk of another shape came (`--trace-deopt`: "wrong map", in the
 * first round, while 1,000 streams ended). Content chunks take the fast path in the vLLM, OpenAI and
 * minimal styles, JSON.parse in the others.
 */
export interface ServerStyle {
  /** A chunk: its members before `choices`, the choices array, and the members after it. */
  chunk(object: string, choices: string, after: string): string
  /** The first choice's members, given the delta (or text) member and the finish reason. */
  choice(body: string, finish: string): string
  /** A chat delta, given its members. */
  delta(members: string): string
  /** What follows `choices` in a chunk that reports no usage. */
  noUsage: string
  /** Whether the final usage comes in a chunk of its own, with empty `choices`. */
  usageChunk: boolean
  /** The usage member for `n` completion tokens (servers order its fields differently). */
  usage(n: number): string
}

const vllmUsage = (n: number): string => `,"usage":{"prompt_tokens":8,"total_tokens":${8 + n},"completion_tokens":${n}}`
const openAiUsage = (n: number): string => `,"usage":{"prompt_tokens":8,"completion_tokens":${n},"total_tokens":${8 + n}}`

export const SERVER_STYLES: ServerStyle[] = [
  { // vLLM
    chunk: (o, c, a) => `{"id":"warm","object":"${o}","created":0,"model":"warm-up","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"logprobs":null,"finish_reason":${f}}`,
    delta: (m) => `"delta":{${m}}`,
    noUsage: '',
    usageChunk: false,
    usage: vllmUsage,
  },
  { // vLLM asked for usage: the last chunk holds usage alone
    chunk: (o, c, a) => `{"id":"warm","object":"${o}","created":0,"model":"warm-up","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"logprobs":null,"finish_reason":${f},"stop_reason":null}`,
    delta: (m) => `"delta":{${m}}`,
    noUsage: '',
    usageChunk: true,
    usage: vllmUsage,
  },
  { // OpenAI
    chunk: (o, c, a) => `{"id":"warm","object":"${o}","created":0,"model":"warm-up","service_tier":"default","system_fingerprint":"fp_warm","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"logprobs":null,"finish_reason":${f}}`,
    delta: (m) => `"delta":{${m}}`,
    noUsage: ',"usage":null',
    usageChunk: true,
    usage: openAiUsage,
  },
  { // SGLang
    chunk: (o, c, a) => `{"id":"warm","object":"${o}","created":0,"model":"warm-up","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"logprobs":null,"finish_reason":${f},"matched_stop":null}`,
    delta: (m) => `"delta":{${m.startsWith('"role"') ? m : m ? `"role":null,${m}` : '"role":null'},"reasoning_content":null,"tool_calls":null}`,
    noUsage: ',"usage":null',
    usageChunk: false,
    usage: openAiUsage,
  },
  { // llama.cpp
    chunk: (o, c, a) => `{"choices":${c},"created":0,"id":"warm","model":"warm-up","system_fingerprint":"b1","object":"${o}"${a}}`,
    choice: (b, f) => `{"finish_reason":${f},"index":0,${b}}`,
    delta: (m) => `"delta":{${m}}`,
    noUsage: '',
    usageChunk: false,
    usage: vllmUsage,
  },
  { // Text Generation Inference
    chunk: (o, c, a) => `{"object":"${o}","id":"","created":0,"model":"warm-up","system_fingerprint":"3.0.0-native","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"logprobs":null,"finish_reason":${f}}`,
    delta: (m) => `"delta":{${m.startsWith('"role"') || !m ? m : `"role":"assistant",${m}`}${m ? ',"tool_call_id":null' : ''}}`,
    noUsage: ',"usage":null',
    usageChunk: true,
    usage: openAiUsage,
  },
  { // minimal servers (no logprobs member)
    chunk: (o, c, a) => `{"id":"warm","object":"${o}","created":0,"model":"warm-up","choices":${c}${a}}`,
    choice: (b, f) => `{"index":0,${b},"finish_reason":${f}}`,
    delta: (m) => `"delta":{${m}}`,
    noUsage: '',
    usageChunk: false,
    usage: openAiUsage,
  },
]

/**
 * A response's packets in a server's `style`: the head with the role chunk, EVENTS_PER_PACKET tokens per
 * packet, then the end; without `usage`, no chunk reports token counts.
 */
export function syntheticResponse(kind: ApiKind, tokens: number, usage: boolean, style: ServerStyle): Buffer[] {
  const frame = (event: string): string => `${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const event = (choices: string, after = style.noUsage): string => `data: ${style.chunk(object, choices, after)}\n\n`
  const text = (t: string): string => (kind === 'chat' ? style.delta(`"content":${JSON.stringify(t)}`) : `"text":${JSON.stringify(t)}`)
  const usageOf = style.usage
  const packets = [
    'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n' +
      frame(event(`[${style.choice(kind === 'chat' ? style.delta('"role":"assistant","content":""') : '"text":""', 'null')}]`)),
  ]
  // Tokens with and without continuous usage, and an escaped one, as servers send them.
  const token = (i: number): string =>
    frame(event(`[${style.choice(text(i % 16 === 0 ? ' "tok"\n' : ' tok'), 'null')}]`, usage && i % 2 === 0 ? usageOf(i) : style.noUsage))
  for (let i = 1; i <= tokens; i += EVENTS_PER_PACKET) {
    let packet = ''
    for (let j = i; j < i + EVENTS_PER_PACKET && j <= tokens; j++) packet += token(j)
    packets.push(packet)
  }
  const finish = `[${style.choice(kind === 'chat' ? style.delta('') : '"text":""', '"length"')}]`
  const end = !usage
    ? frame(event(finish))
    : style.usageChunk
      ? frame(event(finish)) + frame(event('[]', usageOf(tokens)))
      : frame(event(finish, usageOf(tokens)))
  packets.push(`${end}${frame('data: [DONE]\n\n')}0\r\n\r\n`)
  return packets.map((p) => Buffer.from(p))
}
