/** The HTML report: its data (computed here, exact) and the page (the viewer built from viewer/). */
export { capacityOf, MAX_DRAWN_POINTS, reportData, reportHtml, timelineOf } from './build.ts'
export type { ReportInput, TimedRequest } from './build.ts'
export { DATA_PLACEHOLDER, REPORT_DATA_VERSION } from './data.ts'
export type { ReportCapacity, ReportComparison, ReportData, ReportMetric, ReportRound, ReportRun, ReportTimeline, ReportVerdict } from './data.ts'
export { loadReportInput, loadSweepInputs } from './load.ts'
export { viewerTemplate } from './template.ts'
export { TimedRequestLog } from './timedRequests.ts'
export { writeHtmlReport } from './write.ts'
