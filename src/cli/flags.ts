import { InvalidArgumentError } from 'commander'
import { InputError } from '../errors.ts'

/** Commander parser: a whole number ≥ `min`. */
export function wholeNumber(min = 0): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}"`)
    }
    return n
  }
}

/** Commander parser for a repeatable / variadic list of whole numbers ≥ `min`. */
export function wholeNumberList(min = 1): (value: string, previous: number[] | undefined) => number[] {
  const one = wholeNumber(min)
  return (value, previous) => [...(previous ?? []), ...value.split(',').filter((v) => v.trim() !== '').map(one)]
}

/** Commander parser: a finite number ≥ `min`. */
export function finiteNumber(min = -Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < min) {
      throw new InvalidArgumentError(`expected a number${min > -Infinity ? ` ≥ ${min}` : ''}, got "${value}"`)
    }
    return n
  }
}

/** Commander parser for a repeatable `--header 'Name: value'`. */
export function headerPair(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const colon = value.indexOf(':')
  // The value is never echoed (a header is where secrets go): an InputError, since commander's own
  // argument error would quote the whole argument.
  if (colon <= 0) throw new InputError(`expected 'Name: value' (a colon after the name; the value given is not shown)`, '--header')
  const name = value.slice(0, colon).trim()
  const headerValue = value.slice(colon + 1).trim()
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InputError(`"${name.slice(0, 40)}" is not a valid header name (letters, digits and !#$%&'*+.^_\`|~-)`, '--header')
  if (/[\r\n\0]/.test(headerValue)) throw new InputError(`the value of "${name}" contains a line break or NUL (not shown)`, '--header')
  return { ...previous, [name.toLowerCase()]: headerValue }
}

/** Commander parser for repeatable string lists. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

/** Commander parser: a finite number > 0 (rates, durations that cannot be zero). */
export function positiveNumber(): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new InvalidArgumentError(`expected a number > 0, got "${value}"`)
    }
    return n
  }
}

/** Commander parser: a share between 0 and 1 (an error rate). */
export function share(): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`expected a share between 0 and 1 (e.g. 0.01 for 1 %), got "${value}"`)
    }
    return n
  }
}
