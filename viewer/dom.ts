/** A few DOM helpers: elements with text only (never innerHTML: every string comes from a run). */

type Child = Node | string | null | undefined | false
type Attrs = Record<string, string | undefined>

/** `h('p', { class: 'caption' }, 'text', child)`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (attrs) for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, v)
  append(el, children)
  return el
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child)
  }
}

/** A table cell: text, or text with a class (`num`, `pass`, `fail`...), or a node. */
export type Cell = string | Node | { text: string | Node; class?: string; title?: string }

export interface TableSpec {
  head: string[]
  /** Rows; a `heading` row spans the table (e.g. a run's name above its rounds). */
  rows: ({ cells: Cell[]; class?: string } | { heading: Node | string })[]
  /** Columns (by index) holding numbers: right-aligned, tabular digits. */
  numeric?: number[]
  caption?: string
  class?: string
}

export function table(spec: TableSpec): HTMLTableElement {
  const numeric = new Set(spec.numeric ?? [])
  const cls = (i: number, extra?: string) => [numeric.has(i) ? 'num' : '', extra ?? ''].filter(Boolean).join(' ') || undefined
  return h(
    'table',
    { class: spec.class ?? 'data' },
    spec.caption ? h('caption', null, spec.caption) : null,
    h('thead', null, h('tr', null, spec.head.map((text, i) => h('th', { class: cls(i), scope: 'col' }, text)))),
    h(
      'tbody',
      null,
      spec.rows.map((row) =>
        'heading' in row
          ? h('tr', { class: 'group' }, h('th', { colspan: String(spec.head.length), scope: 'colgroup' }, row.heading))
          : h(
          'tr',
          { class: row.class },
          row.cells.map((cell, i) => {
            if (typeof cell === 'string' || cell instanceof Node) return h('td', { class: cls(i) }, cell)
            return h('td', { class: cls(i, cell.class), title: cell.title }, cell.text)
          }),
        ),
      ),
    ),
  )
}

/** A coloured swatch (line style of a series) before a label. */
export function swatch(color: string, dashed = false): HTMLSpanElement {
  const el = h('span', { class: dashed ? 'swatch dashed' : 'swatch' })
  el.style.borderColor = color
  return el
}
