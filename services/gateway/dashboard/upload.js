// The upload page: POST /api/v1/ingest with the chosen file (XMLHttpRequest, for upload progress), then the
// collector's report: per sheet rows / accepted / rejected / duplicates, notes (date order, other channels)
// and the rejected rows with their line, column and reason.
import { apiKey } from './api.js';

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function renderReport(report, target) {
  const sheets = report.sheets && report.sheets.length ? report.sheets : [report];
  for (const s of sheets) {
    const box = el('div', undefined, 'card');
    box.appendChild(el('h2', s.sheet ? `Sheet "${s.sheet}" as ${s.kind}` : `File as ${s.kind}`));
    box.appendChild(el('p', `rows ${s.rows} · accepted ${s.accepted} · rejected ${s.rejected} · duplicates ${s.duplicates}`,
      'summary'));
    for (const n of s.notes || []) box.appendChild(el('p', n, 'muted note'));
    if ((s.ignoredColumns || []).length) box.appendChild(el('p', `ignored columns: ${s.ignoredColumns.join(', ')}`, 'muted'));
    if ((s.rejects || []).length) {
      const table = el('table', undefined, 'rejects');
      const head = el('tr');
      ['line', 'column', 'reason'].forEach((h) => head.appendChild(el('th', h)));
      table.appendChild(head);
      for (const r of s.rejects) {
        const tr = el('tr');
        [r.line, r.column, r.reason].forEach((v) => tr.appendChild(el('td', String(v ?? ''))));
        table.appendChild(tr);
      }
      box.appendChild(table);
      if (Number(s.rejected) > s.rejects.length) {
        box.appendChild(el('p', `... and ${Number(s.rejected) - s.rejects.length} more (ingest.rejects, file ${s.fileId})`, 'muted'));
      }
    }
    target.appendChild(box);
  }
  for (const skipped of report.skippedSheets || []) target.appendChild(el('p', skipped, 'muted skipped'));
}

// What the gateway is told the file is: a workbook, CSV text, or else the browser's own idea of it (a .pdf
// is application/pdf, which the gateway refuses with 415 and a message saying what it reads).
function contentType(file) {
  if (/\.xlsx$/i.test(file.name)) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (/\.(csv|tsv|txt)$/i.test(file.name) || !file.type) return 'text/csv';
  return file.type;
}

$('upload-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  $('error').hidden = true;
  $('report').replaceChildren();
  const file = $('file').files[0];
  if (!file) return;
  const q = new URLSearchParams();
  q.set('filename', file.name);
  if ($('kind').value) q.set('kind', $('kind').value);
  q.set('date_order', $('date-order').value);
  for (const m of $('sheets').value.split(';').map((x) => x.trim()).filter(Boolean)) q.append('sheet', m);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', `/api/v1/ingest?${q}`);
  const key = apiKey();
  if (key) xhr.setRequestHeader('Authorization', `Bearer ${key}`);
  xhr.setRequestHeader('Content-Type', contentType(file));
  $('progress').hidden = false;
  $('progress').value = 0;
  $('send').disabled = true;
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    $('progress').value = Math.round((100 * e.loaded) / e.total);
    $('status').textContent = `sending ${(e.loaded / 1048576).toFixed(1)} of ${(e.total / 1048576).toFixed(1)} MB`;
  };
  xhr.upload.onload = () => { $('status').textContent = 'sent; the collector is reading the rows...'; };
  xhr.onload = () => {
    $('send').disabled = false;
    $('progress').hidden = true;
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (_) { body = null; }
    if (xhr.status !== 200) {
      const e = (body && body.error) || {};
      $('status').textContent = '';
      showError(`${xhr.status}: ${e.message || xhr.statusText}${e.field ? ` (field: ${e.field})` : ''}`);
      return;
    }
    $('status').textContent = 'done';
    renderReport(body, $('report'));
  };
  xhr.onerror = () => {
    $('send').disabled = false;
    showError('the upload failed (network error)');
  };
  xhr.send(file);
});
