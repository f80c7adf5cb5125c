import { fileURLToPath } from 'node:url'
import { existsSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { runCommand } from '../../src/cli/run.ts'
import { recipeFrom, resolveStage, RunOptionTable, splitCommand, substitute } from '../../src/config/index.ts'
import type { Recipe } from '../../src/config/index.ts'
import { resolveProgram } from '../../src/config/argv.ts'
import { parseYamlText } from '../../src/config/yamlTree.ts'
import { InputError } from '../../src/errors.ts'

const table = new RunOptionTable(runCommand().options)
const recipe = (text: string): Recipe => recipeFrom(parseYamlText(text, 'r.yaml', 'recipe file'), table)
/** The error message a recipe text produces (loading, then resolving every stage with `env`). */
function errorOf(text: string, env: Record<string, string> = {}): string {
  try {
    const r = recipe(text)
    for (const stage of r.stages) resolveStage(r, stage, table, env, (g) => g ?? 'results', () => false)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return (error as Error).message
  }
  throw new Error('expected an InputError')
}

describe('${VAR} substitution', () => {
  const env = { HOST: 'h', EMPTY: '' }
  test.each([
    ['http://${HOST}:${PORT:-8765}/v1', 'http://h:8765/v1'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY}', ''],
    ['price $5, literal $${HOST}', 'price $5, literal ${HOST}'],
    ['${MISSING:-a b c}', 'a b c'],
    ['no references', 'no references'],
  ])('%s → %s', (text, expected) => {
    expect(substitute(text, env, 'f:1', 'k')).toBe(expected)
  })

  test('an unset variable without a default names the place, the key and the fix', () => {
    expect(() => substitute('x ${NOPE}', env, 'r.yaml:7', 'global.endpoint')).toThrow('r.yaml:7: global.endpoint: environment variable NOPE is not set (and ${NOPE} has no default; write ${NOPE:-value} to give one)')
  })

  test.each(['${HOST', '${1X}', '${HOST:default}', '${$(rm -rf /)}'])('%s is not a reference: an error, nothing evaluated', (text) => {
    expect(() => substitute(text, env, 'f:1', 'k')).toThrow(InputError)
  })
})

describe('server command lines, without a shell', () => {
  test.each([
    ['vllm serve m --port 8000', ['vllm', 'serve', 'm', '--port', '8000']],
    [`run "a b" 'c "d"' e\\ f`, ['run', 'a b', 'c "d"', 'e f']],
    ['x --name="${MODEL:-m}"', ['x', '--name=${MODEL:-m}']],
    ['  spaced   out  ', ['spaced', 'out']],
  ])('%s', (text, words) => {
    expect(splitCommand(text)).toEqual(words)
  })

  test.each(['a | b', 'a > log', 'a; b', 'a && b', 'echo $(id)', 'echo `id`', '"open', ''])('%j is refused with a reason', (text) => {
    expect(typeof splitCommand(text)).toBe('string')
  })

  test('`fluxperf` and `node` as the first word run this Node (and this fluxperf)', () => {
    const [node, bin, ...rest] = resolveProgram(['fluxperf', 'mock', '--port', '1'])
    expect(node).toBe(process.execPath)
    expect(existsSync(bin as string)).toBe(true)
    expect(rest).toEqual(['mock', '--port', '1'])
    expect(resolveProgram(['node', 'x.js'])).toEqual([process.execPath, 'x.js'])
    expect(resolveProgram(['vllm', 'serve'])).toEqual(['vllm', 'serve'])
  })
})

describe('recipe errors name the file, the line and the key', () => {
  const head = 'global:\n  mock-server: true\n  dataset: datasets/example.jsonl\n'
  test.each([
    [`${head}  num-samples: eight\n`, 'r.yaml:4: global.num-samples: expected a whole number ≥ 1, got "eight"'],
    [`${head}  num-samples: [4]\n`, 'r.yaml:4: global.num-samples: expected a single value for --num-samples, got a list'],
    [`${head}  concurrency: {a: 1}\n`, 'r.yaml:4: global.concurrency: expected a list of values for --concurrency, got a mapping'],
    [`${head}  stream: "no"\n`, 'r.yaml:4: global.stream: expected true or false, got the string "no"'],
    [`${head}  timeout:\n`, 'r.yaml:4: global.timeout: has no value'],
    [`${head}  prometheus-mode: sometimes\n`, 'r.yaml:4: global.prometheus-mode: '],
    [`${head}  concurency: [2]\n`, 'r.yaml:4: global.concurency: unknown key "concurency" (did you mean "concurrency"?)'],
    [`${head}stages:\n  - name: a\n    temprature: 0.5\n`, 'r.yaml:6: stages[0].temprature: unknown key "temprature" (did you mean "temperature"?); a stage takes name, description, env and any option of fluxperf run'],
    [`${head}concurrency: [2]\n`, 'r.yaml:4: concurrency: run options go under global:'],
    [`${head}stagez: []\n`, 'r.yaml:4: stagez: unknown key "stagez" (did you mean "stages"?)'],
    [`${head}stages:\n  - name: a\n  - name: a\n`, 'r.yaml:6: stages[1].name: "a" is already the name of the stage on line 5'],
    [`${head}stages:\n  - name: a/b\n`, 'r.yaml:5: stages[0].name: "a/b" cannot name a directory'],
    [`${head}stages:\n  - concurrency: [1]\n`, 'r.yaml:5: stages[0]: name is required'],
    [`${head}stages: []\n`, 'r.yaml:4: stages: expected a non-empty list'],
    [`${head}  seed: 1\n  seed: 2\n`, 'r.yaml:5: YAML syntax error: Map keys must be unique'],
    [`${head}  seed: 1\n  numSamples: 3\n  num_samples: 4\n`, 'r.yaml:6: global.num_samples: --num-samples is already set on line 5'],
    [`${head}server:\n  command: fluxperf mock\n`, 'r.yaml:4: server: health_url is required'],
    [`${head}server:\n  command: fluxperf mock\n  health_url: http://h/health\n  restart: always\n`, 'r.yaml:7: server.restart: expected per-stage or once, got the string "always"'],
    [`${head}server:\n  command: a | b\n  health_url: http://h/health\n`, 'r.yaml:5: server.command: "|" is a shell operator'],
    [`${head}env:\n  1BAD: x\n`, 'r.yaml:5: env.1BAD: not a variable name'],
    [`global:\n  endpoint: http://127.0.0.1:\${PORT}/v1/chat/completions\n  dataset: d\n`, 'r.yaml:2: global.endpoint: environment variable PORT is not set'],
    [`${head}stages:\n  - name: s\n    env:\n      X: \${UNSET_IN_ENV}\n`, 'r.yaml:7: stages[0].env.X: environment variable UNSET_IN_ENV is not set'],
    ['- just\n- a list\n', 'r.yaml:1: expected a mapping with global:, stages:'],
  ])('%j', (text, message) => {
    expect(errorOf(text)).toContain(message)
  })
})

describe('resolving a stage', () => {
  const text = [
    'env:',
    '  LEVEL: "1"',
    '  NAME: recipe',
    'global:',
    '  endpoint: http://127.0.0.1:${PORT:-8765}/v1/chat/completions',
    '  dataset: datasets/example.jsonl',
    '  num_samples: ${SAMPLES:-8}',
    '  concurrency: ${LEVELS:-1}',
    '  no-stream: true',
    '  header: { X-Run: "${NAME}" }',
    '  output-dir: out',
    '  seed: 1',
    'server:',
    '  command: fluxperf mock --port ${PORT:-8765} --itl-ms ${ITL_MS:-3} --model "${NAME}"',
    '  health_url: http://127.0.0.1:${PORT:-8765}/health',
    '  startup_timeout: 5',
    'stages:',
    '  - name: first',
    '    env: { ITL_MS: "1", LEVELS: "2 4", NAME: "stage-${NAME}" }',
    '  - name: second',
    '    seed: 2',
    '    numSamples: 3',
    '    output-dir: elsewhere/second',
  ].join('\n')

  test('global, then the stage; substituted text read as the option needs; variables process < recipe < stage', () => {
    const r = recipe(text)
    const [first, second] = r.stages.map((s) => resolveStage(r, s, table, { PORT: '9001', NAME: 'from-process' }, (g) => g ?? 'results', () => false))
    expect(first?.values).toMatchObject({
      endpoint: 'http://127.0.0.1:9001/v1/chat/completions',
      numSamples: 8,
      concurrency: [2, 4],
      stream: false,
      header: { 'x-run': 'stage-recipe' },
      seed: 1,
      outputDir: 'out/first',
    })
    expect(second?.values).toMatchObject({ numSamples: 3, seed: 2, concurrency: [1], outputDir: 'elsewhere/second' })
    expect(first?.ownEnv).toEqual({ LEVEL: '1', NAME: 'stage-recipe', ITL_MS: '1', LEVELS: '2 4' })
    expect(first?.server).toMatchObject({
      argv: ['fluxperf', 'mock', '--port', '9001', '--itl-ms', '1', '--model', 'stage-recipe'],
      healthUrl: 'http://127.0.0.1:9001/health',
      restart: 'per-stage',
      startupTimeoutS: 5,
      stopTimeoutS: 15,
    })
    expect(first?.server?.env).toMatchObject({ PORT: '9001', ITL_MS: '1', NAME: 'stage-recipe' })
    expect(second?.server?.argv).toContain('3')
  })

  test('options typed on the command line win over the recipe', () => {
    const r = recipe(text)
    const cli = new Set(['numSamples', 'outputDir'])
    const stage = resolveStage(r, r.stages[1] as Recipe['stages'][number], table, {}, () => 'cli-dir', (a) => cli.has(a))
    expect(stage.values['numSamples']).toBeUndefined()
    expect(stage.values['seed']).toBe(2)
    expect(stage.outputDir).toBe('cli-dir/second')
  })

  test('restart: once starts the server with the recipe variables only', () => {
    const r = recipe(text.replace('  startup_timeout: 5', '  restart: once'))
    const stage = resolveStage(r, r.stages[0] as Recipe['stages'][number], table, {}, (g) => g ?? 'results', () => false)
    expect(stage.server?.argv).toEqual(['fluxperf', 'mock', '--port', '8765', '--itl-ms', '3', '--model', 'recipe'])
    expect(stage.server?.env['ITL_MS']).toBeUndefined()
  })

  test('a recipe without stages is one run of its global settings, written to the output directory itself', () => {
    const r = recipe('global:\n  mock-server: true\n  dataset: datasets/example.jsonl\n  output-dir: plain\n')
    expect(r.implicitStage).toBe(true)
    const stage = resolveStage(r, r.stages[0] as Recipe['stages'][number], table, {}, (g) => g ?? 'results', () => false)
    expect(stage.values).toMatchObject({ mockServer: true, outputDir: 'plain' })
    expect(stage.server).toBeUndefined()
  })

  test('a YAML list or a command list keeps each argument whole', () => {
    const r = recipe('server:\n  command: [my server, --flag, "${V:-a b}"]\n  health_url: http://h:1/health\nglobal:\n  endpoint: http://h:1/v1/chat/completions\n  dataset: d\n')
    const stage = resolveStage(r, r.stages[0] as Recipe['stages'][number], table, {}, (g) => g ?? 'results', () => false)
    expect(stage.server?.argv).toEqual(['my server', '--flag', 'a b'])
  })
})

describe('a "billion laughs" YAML', () => {
  const bomb = fileURLToPath(new URL('../../fixtures/bad/yaml-alias-bomb.yaml', import.meta.url))

  test('as a recipe: refused at its line once it expands past the limit, exit 2', async () => {
    const { readYamlFile } = await import('../../src/config/yamlTree.ts')
    await expect(readYamlFile(bomb, 'recipe')).rejects.toThrow(/yaml-alias-bomb\.yaml:\d+: the YAML expands to more than 100000 values/)
  })

  test('as an SLO file: an input error naming the file, not a crash', async () => {
    const { loadSloFile } = await import('../../src/slo/index.ts')
    const { InputError } = await import('../../src/errors.ts')
    const failure = await loadSloFile(bomb).catch((e: unknown) => e)
    expect(failure).toBeInstanceOf(InputError)
    expect(String((failure as Error).message)).toMatch(/alias bomb/)
  })
})
