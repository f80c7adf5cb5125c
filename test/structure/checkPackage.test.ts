// The parts of `npm run check:package` that decide what it runs and what counts as a warning.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { markedBlocks, warnings } from '../../scripts/check-package.ts'

describe('check:package reads the README blocks marked for it', () => {
  test('files and commands, in README order, verbatim', () => {
    const readme = [
      'Install:', '', '<!-- check-package: run -->', '```bash', 'npm install --save-dev fluxperf vitest', '# a comment', '```', '',
      '<!-- check-package: benchmarks/a.bench.ts -->', '```ts', "import { dualRound } from 'fluxperf'", '', 'const x = 1', '```', '',
      '```bash', 'not marked', '```',
    ].join('\n')
    expect(markedBlocks(readme)).toEqual([
      { kind: 'run', commands: ['npm install --save-dev fluxperf vitest'], line: 3 },
      { kind: 'file', path: 'benchmarks/a.bench.ts', text: "import { dualRound } from 'fluxperf'\n\nconst x = 1\n", line: 9 },
    ])
  })

  test('a mark not followed by a code block is an error naming the line', () => {
    expect(() => markedBlocks('text\n<!-- check-package: a.ts -->\nnot a block\n')).toThrow(/README.md:2: a check-package mark must stand right above a code block/)
  })

  test('the real README has the quick start: an install, a config, a benchmark and a run', () => {
    const blocks = markedBlocks(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'))
    const files = blocks.flatMap((b) => (b.kind === 'file' ? [b.path] : []))
    expect(files).toEqual(expect.arrayContaining(['vitest.config.mts', 'benchmarks/chat.bench.ts', 'tsconfig.json']))
    const commands = blocks.flatMap((b) => (b.kind === 'run' ? b.commands : []))
    expect(commands[0]).toMatch(/^npm install --save-dev fluxperf vitest/)
    expect(commands).toContain('npx vitest bench --run')
  })
})

describe('check:package fails on warnings, not on output', () => {
  test('Vite\'s CommonJS config warning, a source map warning and Node\'s deprecations count', () => {
    const stderr = [
      '(!) Your Vite config uses features that are unsupported by `configLoader: \'native\'`',
      'Sourcemap for "/x/node_modules/fluxperf/dist/src/index.js" points to missing source files',
      '(node:123) [DEP0040] DeprecationWarning: The `punycode` module is deprecated.',
      'fluxperf: wrote baseline baselines/chat.json',
    ].join('\n')
    expect(warnings(stderr)).toHaveLength(3)
  })

  test('npm\'s engine notice for the machine\'s own Node is not the package\'s warning', () => {
    expect(warnings('npm warn EBADENGINE Unsupported engine {\nall good')).toEqual([])
  })
})
