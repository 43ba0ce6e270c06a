/** Conformance reports: the JSON Schema and its check, the human table and the HTML page. */
export * from './types.js';
export { reportSchema, validateReport, ReportError } from './schema.js';
export { renderTable } from './table.js';
export { renderHtml } from './html.js';
export { escapeHtml } from './escape.js';
