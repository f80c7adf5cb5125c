import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The viewer page the report embeds its data in: `dist/viewer/report.html`, built by Vite from viewer/
 * (`npm run build`; the package ships it). In a checkout where it was never built, it is built now, once
 * (Vite is there as Vitest's dependency); an installed package without it is broken and says so.
 */
export async function viewerTemplate(): Promise<string> {
  const candidates = ['../../../dist/viewer/report.html', '../../../viewer/report.html'].map((p) => fileURLToPath(new URL(p, import.meta.url)))
  const found = candidates.find((p) => existsSync(p))
  if (found) return readFileSync(found, 'utf8')
  const script = new URL('../../../scripts/build-viewer.ts', import.meta.url)
  if (!existsSync(fileURLToPath(script))) throw new Error(`the HTML report viewer is missing from the installed package (looked for ${candidates.join(', ')})`)
  const { buildViewer } = (await import(script.href)) as { buildViewer: (outFile?: string) => Promise<string> }
  return readFileSync(await buildViewer(candidates[0]), 'utf8')
}
