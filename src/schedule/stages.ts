import { InputError } from '../errors.ts'
import type { Random } from '../random.ts'
import { arrivalOffsets } from './openLoop.ts'
import type { ArrivalProcess } from './openLoop.ts'

/**
 * One stage of a ramp: `rate` arrivals per second for `duration` seconds (inference-perf's and k6's
 * `stages`). Stages run back to back; the rate steps from one stage to the next.
 */
export interface RateStage {
  /** Arrivals per second (> 0). */
  rate: number
  /** Seconds (> 0). */
  duration: number
}

/** An intended arrival of a staged schedule. */
export interface StagedOffset {
  /** ms from the schedule's start. */
  offsetMs: number
  /** 0-based stage it belongs to. */
  stage: number
}

/**
 * Intended arrival offsets of stages run back to back, in order: each stage draws its gaps from its own
 * sub-stream of `random` (so changing one stage leaves the others' arrivals alone) and starts at the end
 * of the previous one, with its first arrival at its start.
 */
export function* stagedOffsets(stages: readonly RateStage[], process: ArrivalProcess, burstiness: number, random: Random): Generator<StagedOffset, void> {
  let startMs = 0
  const streams = stages.map(() => random.fork())
  for (const [i, stage] of stages.entries()) {
    const endMs = startMs + stage.duration * 1000
    for (const offset of arrivalOffsets({ rate: stage.rate, process, burstiness }, streams[i] as Random)) {
      const at = startMs + offset
      if (at >= endMs) break
      yield { offsetMs: at, stage: i }
    }
    startMs = endMs
  }
}

/** Total length of the stages, seconds. */
export function stagesDuration(stages: readonly RateStage[]): number {
  return stages.reduce((s, x) => s + x.duration, 0)
}

/**
 * Stages from the CLI's `--stages 2:30,8:60` (rate:seconds, comma-separated) or a recipe's / library's list of
 * `{ rate, duration }`. Every error names `where` and what was expected.
 */
export function parseStages(input: unknown, where: string): RateStage[] {
  const items: unknown[] = typeof input === 'string' ? input.split(',').map((s) => s.trim()).filter((s) => s.length > 0) : Array.isArray(input) ? input : []
  if (items.length === 0) throw new InputError(`expected stages as rate:seconds[,rate:seconds...] (e.g. 2:30,8:60) or a list of { rate, duration }, got ${JSON.stringify(input)}`, where)
  return items.map((item, i) => {
    let rate: unknown
    let duration: unknown
    if (typeof item === 'string') {
      const m = /^([^:]+):([^:]+)$/.exec(item)
      if (!m) throw new InputError(`stage ${i + 1}: expected rate:seconds (e.g. 4:30), got "${item}"`, where)
      rate = Number(m[1])
      duration = Number(m[2])
    } else if (item && typeof item === 'object') {
      const unknownKey = Object.keys(item).find((k) => k !== 'rate' && k !== 'duration')
      if (unknownKey) throw new InputError(`stage ${i + 1}: unknown key "${unknownKey}" (a stage has rate and duration)`, where)
      ;({ rate, duration } = item as { rate?: unknown; duration?: unknown })
    } else {
      throw new InputError(`stage ${i + 1}: expected rate:seconds or { rate, duration }, got ${JSON.stringify(item)}`, where)
    }
    if (typeof rate !== 'number' || !(rate > 0) || !Number.isFinite(rate)) throw new InputError(`stage ${i + 1}: rate must be a number > 0 (requests per second), got ${JSON.stringify(rate)}`, where)
    if (typeof duration !== 'number' || !(duration > 0) || !Number.isFinite(duration)) throw new InputError(`stage ${i + 1}: duration must be a number > 0 (seconds), got ${JSON.stringify(duration)}`, where)
    return { rate, duration }
  })
}
