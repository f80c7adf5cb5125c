// `node scripts/build-viewer.ts [out.html]`: builds the HTML report viewer (viewer/) into ONE self-contained
// page, dist/viewer/report.html: Vite bundles viewer/main.ts with uPlot and the CSS (minified, nothing
// written but the page), and the JS and CSS are inlined into viewer/index.html. The page fetches nothing:
// it is checked to reference no file or URL (only `data:` and `#`), and to hold the data placeholder
// `"__FLUXPERF_DATA__"` exactly once, inside `<script type="application/json" id="fluxperf-data">`, which
// the report writer (src/report/html) replaces with the report's JSON.
//
// Importable: `buildViewer(outFile?)` builds and returns the written path (the report writer builds on
// demand in a checkout where dist/viewer is missing); only running this file directly builds at once.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DATA_PLACEHOLDER } from '../src/report/html/data.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const viewerDir = join(root, 'viewer')

/** Where the built page goes unless told. */
export const VIEWER_OUT = join(root, 'dist', 'viewer', 'report.html')


const DATA_TAG = `<script type="application/json" id="fluxperf-data">${DATA_PLACEHOLDER}</script>`
const ENTRY_TAG = '<script type="module" src="./main.ts"></script>'

/** The bundled viewer: its JS (one IIFE) and CSS, minified. */
async function bundle(): Promise<{ js: string; css: string }> {
  const { build } = await import('vite')
  const nodeEnv = process.env['NODE_ENV']
  try {
    const result = await build({
      configFile: false,
      root: viewerDir,
      logLevel: 'warn',
      publicDir: false,
      mode: 'production',
      css: { postcss: {} },
      build: {
        write: false,
        outDir: join(tmpdir(), 'fluxperf-viewer-build'),
        emptyOutDir: false,
        target: 'es2022',
        minify: true,
        cssMinify: true,
        sourcemap: false,
        reportCompressedSize: false,
        copyPublicDir: false,
        lib: {
          entry: join(viewerDir, 'main.ts'),
          formats: ['iife'],
          name: 'fluxperfViewer',
          fileName: () => 'viewer.js',
          cssFileName: 'viewer',
        },
      },
    })
    const outputs = Array.isArray(result) ? result : [result]
    let js = ''
    let css = ''
    for (const out of outputs) {
      if (!('output' in out)) throw new Error('vite build returned a watcher, not a bundle')
      for (const file of out.output) {
        if (file.type === 'chunk') js += file.code
        else if (file.fileName.endsWith('.css')) css += typeof file.source === 'string' ? file.source : new TextDecoder().decode(file.source)
        else throw new Error(`the viewer bundle emitted an asset the page cannot inline: ${file.fileName}`)
      }
    }
    if (!js) throw new Error('the viewer bundle holds no JavaScript')
    return { js, css }
  } finally {
    if (nodeEnv === undefined) delete process.env['NODE_ENV']
    else process.env['NODE_ENV'] = nodeEnv
  }
}

/** The page: viewer/index.html with the bundle inlined in place of its entry script, CSS in the head. */
export function inlinePage(template: string, js: string, css: string): string {
  if (!template.includes(ENTRY_TAG)) throw new Error(`viewer/index.html must load the viewer with exactly ${ENTRY_TAG}`)
  if (!template.includes('</head>')) throw new Error('viewer/index.html has no </head>')
  if (js.includes('__FLUXPERF_DATA__') || css.includes('__FLUXPERF_DATA__')) throw new Error('the viewer bundle must not contain the data placeholder (the writer replaces its first occurrence)')
  // A script or style element ends at the first `</script` / `</style`, whatever the JS means by it.
  const safeJs = js.replace(/<\/(script)/gi, '<\\/$1')
  if (/<!--/.test(safeJs)) throw new Error('the viewer bundle contains "<!--", which changes how HTML parses a script')
  if (/<\/style/i.test(css)) throw new Error('the viewer CSS contains "</style"')
  // Functions as replacements: the minified code is full of `$`, which string replacements interpret.
  return template
    .replace('</head>', () => `<style>${css.trim()}</style>\n</head>`)
    .replace(ENTRY_TAG, () => `<script>${safeJs.trim()}</script>`)
}

/** Throws unless the page is self-contained and holds the placeholder once, in the data element. */
export function checkPage(html: string): void {
  const first = html.indexOf(DATA_PLACEHOLDER)
  if (first < 0 || html.indexOf(DATA_PLACEHOLDER, first + 1) >= 0) throw new Error(`the page must hold ${DATA_PLACEHOLDER} exactly once`)
  if (html.indexOf(DATA_TAG) !== first - DATA_TAG.indexOf(DATA_PLACEHOLDER)) throw new Error(`the placeholder must stand inside ${DATA_TAG}`)
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] as string)
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string)
  const markup = html.replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1>/g, '')
  const problems: string[] = []
  for (const m of markup.matchAll(/\b(src|href|srcset|action|formaction|poster|data|xlink:href|background|manifest)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi)) {
    const value = (m[2] as string).replace(/^["']|["']$/g, '').trim()
    if (!/^(data:|#)/i.test(value)) problems.push(`${m[1]}="${value}"`)
  }
  if (/<link\b/i.test(markup)) problems.push('a <link> element')
  for (const css of styles) {
    for (const m of css.matchAll(/url\(\s*(["']?)([^)"']*)\1\s*\)/gi)) if (!/^(data:|#)/i.test(m[2] as string)) problems.push(`CSS url(${m[2]})`)
    if (/@import\b/i.test(css)) problems.push('CSS @import')
  }
  for (const js of scripts) {
    for (const api of ['fetch(', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'sendBeacon', 'importScripts', 'import(']) {
      if (js.includes(api)) problems.push(`script uses ${api.replace('(', '')}`)
    }
  }
  if (problems.length) throw new Error(`the viewer page is not self-contained: ${problems.join(', ')}`)
}

/** Builds the self-contained viewer page into `outFile` (dist/viewer/report.html) and returns its path. */
export async function buildViewer(outFile: string = VIEWER_OUT): Promise<string> {
  const out = resolve(outFile)
  const { js, css } = await bundle()
  const html = inlinePage(readFileSync(join(viewerDir, 'index.html'), 'utf8'), js, css)
  checkPage(html)
  mkdirSync(dirname(out), { recursive: true })
  // Through a temporary file: a report writer reading the page never sees half of it.
  const tmp = `${out}.${process.pid}.tmp`
  writeFileSync(tmp, html)
  renameSync(tmp, out)
  return out
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now()
  const out = await buildViewer(process.argv[2])
  const bytes = Buffer.byteLength(readFileSync(out))
  const shown = relative(process.cwd(), out)
  process.stdout.write(`Built ${shown && !shown.startsWith('..') ? shown : out}: ${(bytes / 1024).toFixed(1)} KB, self-contained (${Math.round(performance.now() - started)} ms)\n`)
}
