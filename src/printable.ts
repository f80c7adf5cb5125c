/**
 * `text` safe for a terminal: control characters (ESC, BEL, CR and the other C0/C1 codes, DEL) that a
 * server put in an error body, a model name or an answer become `?`, so printing it cannot retitle the
 * window, clear the screen or forge a coloured PASSED line. Newlines and tabs are kept.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?')
}
