/**
 * `${VAR}` and `${VAR:-default}` in recipe values, from an environment. Nothing else is interpreted:
 * no commands, no arithmetic, no nested expansion. `$${` is a literal `${`.
 */

import { InputError } from '../errors.ts'

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** True when the text holds a `${...}` reference. */
export function hasReference(text: string): boolean {
  return /(^|[^$])\$\{/.test(text)
}

/**
 * Replaces every `${VAR}` (the variable must be set; empty counts as set) and `${VAR:-default}` (the
 * default when VAR is unset or empty) in `text`.
 * @param where `file:line` for messages
 * @param key the key path the text belongs to, e.g. `stages[1].endpoint`
 * @throws InputError naming `where` and `key` for an unset variable or a malformed reference
 */
export function substitute(text: string, env: Readonly<Record<string, string | undefined>>, where: string, key: string): string {
  if (!text.includes('${')) return text
  const open = text.replace(REFERENCE, '').indexOf('${')
  if (open !== -1) throw new InputError(`${key}: "\${" without a closing "}" in "${text}"; write \${NAME} or \${NAME:-default} (and $\${ for a literal \${)`, where)
  return text.replace(REFERENCE, (match, body: string | undefined) => {
    if (body === undefined) return '${'
    const colon = body.indexOf(':-')
    const name = colon === -1 ? body : body.slice(0, colon)
    if (!NAME.test(name)) throw new InputError(`${key}: "\${${body}}" is not a variable reference; write \${NAME} or \${NAME:-default}`, where)
    const value = env[name]
    if (colon !== -1) return value === undefined || value === '' ? body.slice(colon + 2) : value
    if (value === undefined) throw new InputError(`${key}: environment variable ${name} is not set (and \${${name}} has no default; write \${${name}:-value} to give one)`, where)
    return value
  })
}
