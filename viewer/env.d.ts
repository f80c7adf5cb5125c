// Side-effect CSS imports (bundled and inlined by scripts/build-viewer.ts).
declare module '*.css'
