export { runClosedLoop } from './closedLoop.ts'
export { arrivalOffsets, ARRIVAL_PROCESSES, gammaSample, runOpenLoop, systemClock, addClientWait } from './openLoop.ts'
export type { Arrival, ArrivalOptions, ArrivalProcess, Clock, OpenLoopOptions, OpenLoopRun, ScheduledSend } from './openLoop.ts'
