import { vi } from 'vitest'
import { main } from '../../src/cli/main.ts'

export interface InProcessResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `fluxperf ...args` in this process (faster than spawning), capturing stdout and stderr.
 * process.exitCode is cleared before and after, so one command's code never leaks into the next.
 */
export async function runMain(args: string[]): Promise<InProcessResult> {
  let stdout = ''
  let stderr = ''
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk)
    return true
  })
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk)
    return true
  })
  process.exitCode = undefined
  try {
    const code = await main(args)
    return { code, stdout, stderr }
  } finally {
    out.mockRestore()
    err.mockRestore()
    process.exitCode = undefined
  }
}
