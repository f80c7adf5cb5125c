export { runClosedLoop } from './closedLoop.ts'
