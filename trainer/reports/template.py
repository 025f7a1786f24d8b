"""The page itself: HTML skeleton, style and the script that draws the data with plotly.js.

The script builds the runs table (sortable by any column, filterable by text), draws the
charts, and fills a run's section (config, summary, provenance, loss and learning-rate
curves, gradient reach, task view) the first time it is opened.
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="__CSP__">
<title>__TITLE__</title>
<style>__STYLE__</style>
<script src="plotly.min.js"></script>
</head><body>
<header><h1>__TITLE__</h1><p id="state"></p><p id="made"></p><ul id="notes"></ul></header>
<section id="results-section" hidden><h2>Results by group</h2>
<p class="note">What <code>train table</code> prints for this sweep: each group's seeds, the final
figure's mean, min-max and 95% bootstrap interval, how many runs beat the baseline, and the chance
that a run of the group beats a run of the best group.</p>
<div class="scroll"><table id="results"><thead></thead><tbody></tbody></table></div>
<ul id="results-said"></ul></section>
<section><h2>Runs</h2>
<p><input id="filter" type="search" placeholder="filter rows by text" size="40">
<span id="shown"></span> · click a column header to sort</p>
<div class="scroll"><table id="runs"><thead></thead><tbody></tbody></table></div></section>
<section><h2>Curves</h2><div id="curves" class="grid"></div></section>
<section id="study-section" hidden><h2>Study</h2><div id="study" class="grid"></div>
<p class="note">Each trial's value is the mean over its seeds; a pruned trial (x) shows its value
when the pruner stopped it. The best so far counts complete trials only; it was selected on the
search's own seeds (train tune --confirm K retrains it on fresh ones).</p></section>
<section id="sweep-section" hidden><h2>Sweep</h2><div id="sweep" class="grid"></div>
<p id="variance-note" class="note"></p></section>
<section><h2>Each run</h2><p class="note">Open a run to see its config, summary, provenance,
curves and task view.</p><div id="each"></div></section>
<script id="data" type="application/json">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0 2em 3em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
.note,#made{color:#666} #state{font-weight:600} #state.going{color:#b35c00}
.scroll{overflow-x:auto;max-height:70vh;overflow-y:auto}
table{border-collapse:collapse;font-size:12.5px}
th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#f6f6f6;cursor:pointer;user-select:none;white-space:normal;
   vertical-align:bottom}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td:first-child,th:first-child,td.text{text-align:left}
tr:hover td{background:#f3f7ff}
.status-completed{color:#2a7d2a}.status-diverged,.status-failed{color:#c0392b}
.status-running,.status-interrupted,.status-pruned{color:#b35c00}
.grid{display:flex;flex-wrap:wrap;gap:8px}
.chart{width:640px;height:480px;border:1px solid #eee}
.chart.wide{width:100%;max-width:1300px}
details{border:1px solid #ddd;border-radius:4px;margin:6px 0;padding:4px 10px}
details[open]{padding-bottom:10px} summary{cursor:pointer;font-weight:600}
.kv td{text-align:left} .kv tr.differs td{background:#fff6d6}
pre{background:#f8f8f8;padding:6px;overflow-x:auto;max-height:300px;font-size:12px}
img.view{max-width:100%;border:1px solid #eee}
"""

SCRIPT = r"""
const D = JSON.parse(document.getElementById('data').textContent);
const CFG = {responsive: true, displaylogo: false};
const el = (tag, attrs, text) => { const e = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => e.setAttribute(k, v));
  if (text !== undefined) e.textContent = text; return e; };
const fmt = v => v === null || v === undefined ? '' : typeof v === 'number'
  ? (Number.isInteger(v) ? String(v) : (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(4) : v.toExponential(2)))
  : String(v);
function draw(id, spec, cls) {
  const div = el('div', {id: id, class: 'chart ' + (cls || '')});
  if (spec.layout && spec.layout.height) div.style.height = spec.layout.height + 'px';
  return div; }
function plot(div, spec) {
  const layout = Object.assign({margin: {t: 60, l: 70, r: 20, b: 50}}, spec.layout);
  return Plotly.newPlot(div, spec.data, layout, CFG).then(() => div.setAttribute('data-rendered', '1')); }

// header
document.getElementById('state').textContent = D.state;
if (D.going) document.getElementById('state').classList.add('going');
document.getElementById('made').textContent = 'made ' + D.made + (D.sources.length ? ' from ' + D.sources.join(', ') : '');
D.notes.forEach(n => document.getElementById('notes').appendChild(el('li', {}, n)));

// the sweep's results by group (train table)
if (D.results) { document.getElementById('results-section').hidden = false;
  const t = document.getElementById('results'), hr = el('tr');
  D.results.columns.forEach(c => hr.appendChild(el('th', {}, c))); t.tHead.appendChild(hr);
  D.results.rows.forEach(row => { const tr = el('tr');
    row.forEach((v, i) => { const td = el('td', {}, v); if (i < D.results.keys) td.className = 'text'; tr.appendChild(td); });
    t.tBodies[0].appendChild(tr); });
  D.results.sentences.forEach(x => document.getElementById('results-said').appendChild(el('li', {}, x))); }

// the runs table
const table = document.getElementById('runs');
const head = el('tr'); D.table.columns.forEach((c, i) => { const th = el('th', {'data-col': i}, c); head.appendChild(th); });
table.tHead.appendChild(head);
const body = table.tBodies[0];
D.table.rows.forEach((row, r) => { const tr = el('tr', {'data-run': r});
  row.forEach((v, i) => { const td = el('td', {'data-v': v === null || v === undefined ? '' : v});
    if (i === 0) { const a = el('a', {href: '#run-' + r}, v); td.appendChild(a); td.className = 'text'; }
    else { td.textContent = fmt(v); if (typeof v !== 'number') td.className = 'text'; }
    if (i === 1) td.classList.add('status-' + String(v).replace(/[^A-Za-z0-9_-]/g, '_'));
    tr.appendChild(td); });
  body.appendChild(tr); });
head.addEventListener('click', ev => { const th = ev.target.closest('th'); if (!th) return;
  const col = +th.dataset.col, asc = th.getAttribute('aria-sort') !== 'ascending';
  head.querySelectorAll('th').forEach(h => h.removeAttribute('aria-sort'));
  th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
  const key = tr => tr.children[col].dataset.v;
  const rows = Array.from(body.rows);
  rows.sort((a, b) => { const x = key(a), y = key(b);
    if (x === '' && y !== '') return 1; if (y === '' && x !== '') return -1;
    const nx = Number(x), ny = Number(y);
    const c = (x !== '' && y !== '' && !isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, undefined, {numeric: true});
    return asc ? c : -c; });
  rows.forEach(tr => body.appendChild(tr)); });
const shown = () => { const n = Array.from(body.rows).filter(r => !r.hidden).length;
  document.getElementById('shown').textContent = n + ' of ' + body.rows.length + ' runs shown'; };
document.getElementById('filter').addEventListener('input', ev => { const q = ev.target.value.toLowerCase();
  Array.from(body.rows).forEach(tr => { tr.hidden = q !== '' && !tr.textContent.toLowerCase().includes(q); }); shown(); });
shown();

// parallel coordinates need WebGL; without it (headless browsers, remote desktops) the same
// lines are drawn as an SVG chart: one line per run across the axes, each axis scaled 0 to 1
function webgl() { try { const c = document.createElement('canvas');
  return !!(c.getContext('webgl') || c.getContext('experimental-webgl')); } catch (e) { return false; } }
const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779',
                 '#6ece58', '#b5de2b', '#fde725'];
function parallelSvg(spec) {
  const t = spec.data[0], dims = t.dimensions, colors = t.line.color || [];
  const lo = Math.min(...colors), hi = Math.max(...colors);
  const span = d => { const v = d.values.concat(d.tickvals || []); return [Math.min(...v), Math.max(...v)]; };
  const scale = dims.map(d => { const [a, b] = span(d); return x => b > a ? (x - a) / (b - a) : 0.5; });
  const data = colors.map((c, j) => ({type: 'scatter', mode: 'lines', x: dims.map((d, i) => i),
    y: dims.map((d, i) => scale[i](d.values[j])), opacity: 0.75, hoverinfo: 'skip', showlegend: false,
    line: {width: 1.3, color: VIRIDIS[hi > lo ? Math.round((c - lo) / (hi - lo) * 9) : 5]}}));
  const notes = [];
  dims.forEach((d, i) => { if (!d.values.length) return;
    const [a, b] = span(d);
    const ticks = d.tickvals ? d.tickvals.map((v, k) => [v, d.ticktext[k]]) : [[a, fmt(a)], [b, fmt(b)]];
    ticks.forEach(([v, text]) => notes.push({x: i, y: scale[i](v), text: String(text), showarrow: false,
      xanchor: 'right', xshift: -4, font: {size: 10}})); });
  const title = spec.layout.title.text + ' (drawn without WebGL; dark to yellow: low to high)';
  return {data: data, layout: {title: {text: title}, margin: spec.layout.margin, annotations: notes,
    xaxis: {tickvals: dims.map((d, i) => i), ticktext: dims.map(d => d.label), zeroline: false},
    yaxis: {visible: false, range: [-0.05, 1.05]}}}; }

// the charts of all runs, and of the sweep
D.charts.forEach(c => { const sweep = !c.id.startsWith('curve-'), study = c.id.startsWith('study-');
  const fallback = (c.spec.data[0] || {}).type === 'parcoords' && !webgl();
  const spec = fallback ? parallelSvg(c.spec) : c.spec;
  const div = draw(c.id, spec, c.id === 'parallel' ? 'wide' : '');
  if (fallback) div.setAttribute('data-fallback', 'svg');
  if (study) document.getElementById('study-section').hidden = false;
  document.getElementById(study ? 'study' : sweep ? 'sweep' : 'curves').appendChild(div); plot(div, spec); });
if (D.sweep) { document.getElementById('sweep-section').hidden = false;
  const s = D.sweep;
  document.getElementById('variance-note').textContent = 'Which keys matter, over the ' + s.n +
    ' finished runs, for the final ' + s.metric + (s.log ? ' (its log10, as it spans decades)' : '') +
    ': for each swept key alone, the runs are grouped by its value and SS_between / SS_total is its ' +
    'share (eta squared of a one-way analysis of variance); for each pair of keys, the interaction\'s ' +
    'share is the SS of the pair\'s cells less both one-way SS, over SS_total (what one key does ' +
    'depends on the other); what no bar explains is the seeds.' +
    (s.continuous.length ? ' ' + s.continuous.join(', ') + ' ' + (s.continuous.length > 1 ? 'were' : 'was') +
     ' sampled from a range, so every run has its own value and a share would trivially be 100%: ' +
     'its bar is the rank (Spearman) correlation with the final figure instead, from -1 to 1.' : ''); }

// each run's section, filled when first opened
const each = document.getElementById('each');
function kv(obj, differs) { const t = el('table', {class: 'kv'});
  Object.entries(obj).forEach(([k, v]) => { const tr = el('tr', differs && differs.includes(k) ? {class: 'differs'} : {});
    tr.appendChild(el('td', {}, k)); tr.appendChild(el('td', {}, typeof v === 'object' ? JSON.stringify(v) : fmt(v)));
    t.appendChild(tr); }); return t; }
function fill(d, run, i) {
  d.appendChild(el('p', {class: 'note'}, run.path));
  const charts = el('div', {class: 'grid'}); d.appendChild(charts);
  const s = run.summary, base = (s.baseline || {}).val_loss;
  const loss = {data: [{x: run.train.step, y: run.train.loss, mode: 'lines', name: 'train'},
                       {x: run.val.step, y: run.val.loss, mode: 'lines+markers', name: 'val'}],
    layout: {title: {text: run.label + ': loss'}, xaxis: {title: {text: 'step'}}, yaxis: {type: 'log', title: {text: 'loss'}},
      shapes: base ? [{type: 'line', xref: 'paper', x0: 0, x1: 1, y0: base, y1: base, line: {dash: 'dash', color: '#7f7f7f'}}] : []}};
  const lr = {data: [{x: run.train.step, y: run.train.lr, mode: 'lines', name: 'lr'}],
    layout: {title: {text: 'learning rate'}, xaxis: {title: {text: 'step'}}, yaxis: {title: {text: 'lr'}}}};
  const reach = {data: Object.entries(run.reach).map(([step, [t, v]]) => ({x: t, y: v, mode: 'lines+markers',
      name: step === '0' ? 'before training' : 'after ' + step + ' steps'})),
    layout: {title: {text: 'gradient reach ||dL/dh_t||'}, xaxis: {title: {text: 't in the window'}}, yaxis: {type: 'log'}}};
  const rates = run.train.lr.filter(v => v !== null && v !== undefined);
  const varies = rates.some(v => v !== rates[0]);   // a constant rate is said, not charted
  if (rates.length && !varies) d.appendChild(el('p', {class: 'note'}, 'learning rate ' + fmt(rates[0]) + ' throughout'));
  [loss].concat(varies ? [lr] : [], Object.keys(run.reach).length ? [reach] : []).forEach((spec, k) => {
    const div = draw('run-' + i + '-chart-' + k, spec); charts.appendChild(div); plot(div, spec); });
  if (run.image) { d.appendChild(el('h4', {}, 'task view')); d.appendChild(el('img', {class: 'view', src: run.image, alt: 'task view'})); }
  else if (run.image_missing) d.appendChild(el('p', {class: 'note'}, 'task view left out to keep the report small: ' + run.image_missing));
  else d.appendChild(el('p', {class: 'note'}, 'no task view drawn (train plot ' + run.path + ' draws it)'));
  d.appendChild(el('h4', {}, 'config (keys that differ between the runs highlighted)')); d.appendChild(kv(run.config, run.differs));
  const summary = Object.assign({}, s); delete summary.traceback;
  d.appendChild(el('h4', {}, 'summary')); d.appendChild(el('pre', {}, JSON.stringify(summary, null, 1)));
  if (s.traceback) d.appendChild(el('pre', {}, s.traceback));
  d.appendChild(el('h4', {}, 'provenance'));
  d.appendChild(run.env ? kv(run.env) : el('p', {class: 'note'}, 'not recorded by this run'));
}
D.runs.forEach((run, i) => { const d = el('details', {id: 'run-' + i});
  const st = run.summary.status || 'no summary';
  d.appendChild(el('summary', {}, run.label + ' · ' + st));
  d.addEventListener('toggle', () => { if (d.open && !d.dataset.filled) { d.dataset.filled = '1'; fill(d, run, i); } });
  each.appendChild(d); });
function openHash() { const d = document.getElementById(location.hash.slice(1));
  if (d && d.tagName === 'DETAILS') { d.open = true; d.scrollIntoView(); } }
window.addEventListener('hashchange', openHash); openHash();
"""
