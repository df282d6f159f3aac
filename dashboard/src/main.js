// The site owner's dashboard: a client of the Stats API (/api/v2/query, realtime visitors) and,
// in the owner's view, of the leads API (the inbox and its stage buttons). The period and the
// filters live in the URL, so a filtered view can be bookmarked and sent.
import uPlot from 'uplot';

const page = document.body.dataset;
const SITE = page.site;
const SHARE = page.share || '';
const CSRF = page.csrf || '';
const OWNER = page.mode === 'owner';

// URL parameter -> the Stats API dimension it filters on
const FILTERS = {
  source: 'visit:source',
  utm_campaign: 'visit:utm_campaign',
  page: 'event:page',
  entry_page: 'visit:entry_page',
  device: 'visit:device',
  browser: 'visit:browser',
  os: 'visit:os',
};
const PANELS = [
  ['Top sources', 'source', 'Source'],
  ['UTM campaigns', 'utm_campaign', 'Campaign'],
  ['Top pages', 'page', 'Page'],
  ['Entry pages', 'entry_page', 'Entry page'],
  ['Devices', 'device', 'Device'],
  ['Browsers', 'browser', 'Browser'],
  ['Operating systems', 'os', 'OS'],
];
const PERIODS = [
  ['day', 'Today'],
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['custom', 'Custom range'],
];
const KPIS = [
  ['visitors', 'Unique visitors'],
  ['visits', 'Visits'],
  ['pageviews', 'Pageviews'],
  ['bounce_rate', 'Bounce rate'],
  ['visit_duration', 'Visit duration'],
  ['leads', 'Leads'],
  ['matched_calls', 'Matched calls'],
];
const STAGE_BUTTONS = ['contacted', 'offered', 'won', 'junk'];

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v !== false && v != null) el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

const pad = (n) => String(n).padStart(2, '0');
const ymd = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const parseDay = (s) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
};
const dayCount = (a, b) => Math.round((b - a) / 86400000) + 1;

function state() {
  const q = new URLSearchParams(location.search);
  let period = q.get('period') || '7d';
  if (!PERIODS.some(([p]) => p === period)) period = '7d';
  const today = addDays(new Date(), 0); // midnight: the period starts and ends on whole days
  let from = addDays(today, -6);
  let to = today;
  if (period === 'day') from = today;
  if (period === '30d') from = addDays(today, -29);
  if (period === 'custom') {
    const a = parseDay(q.get('from'));
    const b = parseDay(q.get('to'));
    if (a && b && a <= b) [from, to] = [a, b];
    else period = '7d';
  }
  const filters = Object.keys(FILTERS)
    .filter((k) => q.get(k))
    .map((k) => [k, q.get(k)]);
  return { period, from, to, filters };
}

function go(changes) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v == null || v === '') q.delete(k);
    else q.set(k, v);
  }
  const search = q.toString();
  history.pushState(null, '', search ? `?${search}` : location.pathname);
  refresh();
}

async function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (SHARE) headers['x-share-token'] = SHARE;
  if (CSRF && init.method === 'POST') headers['x-csrf-token'] = CSRF;
  const r = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  if (!r.ok) throw new Error((body && body.error) || `the edge answered ${r.status}`);
  return body;
}

function stats(st, query, range = [st.from, st.to], filtered = true) {
  const filters = filtered ? st.filters.map(([k, v]) => ['is', FILTERS[k], [v]]) : [];
  const body = { site_id: SITE, date_range: range.map(ymd), filters, ...query };
  return api('/api/v2/query', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function formatMetric(name, v) {
  if (v == null) return '—';
  if (name === 'bounce_rate') return `${Math.round(v)}%`;
  if (name === 'visit_duration') return v >= 60 ? `${Math.floor(v / 60)}m ${Math.round(v % 60)}s` : `${Math.round(v)}s`;
  return v >= 10000 ? `${(v / 1000).toFixed(1)}k` : String(v);
}

function change(now, before) {
  if (now == null || before == null) return ['', ''];
  if (before === 0) return now === 0 ? ['0%', 'flat'] : ['new', 'up'];
  const pct = Math.round(((now - before) / before) * 100);
  return [`${pct > 0 ? '+' : ''}${pct}%`, pct > 0 ? 'up' : pct < 0 ? 'down' : 'flat'];
}

const ui = {};

function skeleton() {
  const app = document.getElementById('app');
  const periodSelect = h(
    'select',
    { id: 'period', 'aria-label': 'Period', on: { change: (e) => pickPeriod(e.target.value) } },
    PERIODS.map(([v, label]) => h('option', { value: v }, label)),
  );
  const from = h('input', { type: 'date', id: 'from', 'aria-label': 'From' });
  const to = h('input', { type: 'date', id: 'to', 'aria-label': 'To' });
  const apply = h('button', { type: 'button', id: 'apply', on: { click: applyCustom } }, 'Apply');
  const custom = h('span', { id: 'custom' }, from, to, apply);
  const actions = [];
  if (OWNER) actions.push(h('button', { type: 'button', id: 'logout', on: { click: logout } }, 'Log out'));
  else actions.push(h('span', { class: 'badge' }, 'Shared view · read only'));
  app.append(
    h(
      'header',
      {},
      h('h1', {}, SITE),
      h('span', { id: 'realtime', class: 'realtime' }, h('b', {}, '…'), ' current visitors'),
      h('span', { class: 'spacer' }),
      periodSelect,
      custom,
      ...actions,
    ),
    h('div', { id: 'error', role: 'alert', hidden: true }),
    h('nav', { id: 'filters', 'aria-label': 'Filters' }),
    h('section', { id: 'kpis' }),
    h('section', { id: 'chart', class: 'card' }),
    h('section', { id: 'panels' }),
  );
  if (OWNER) app.append(h('section', { id: 'inbox', class: 'card' }));
  Object.assign(ui, { periodSelect, from, to, custom });
}

function pickPeriod(value) {
  if (value === 'custom') {
    ui.custom.classList.add('open');
    return;
  }
  go({ period: value, from: null, to: null });
}

function applyCustom() {
  if (parseDay(ui.from.value) && parseDay(ui.to.value)) go({ period: 'custom', from: ui.from.value, to: ui.to.value });
}

async function logout() {
  try {
    await api(`/dashboard/${encodeURIComponent(SITE)}/logout`, { method: 'POST' });
  } catch {
    // the session is gone either way
  }
  location.reload();
}

function showError(message) {
  const box = document.getElementById('error');
  box.hidden = !message;
  box.textContent = message || '';
}

function drawControls(st) {
  ui.periodSelect.value = st.period;
  ui.from.value = ymd(st.from);
  ui.to.value = ymd(st.to);
  ui.custom.classList.toggle('open', st.period === 'custom');
  const nav = document.getElementById('filters');
  nav.replaceChildren(
    ...st.filters.map(([k, v]) =>
      h(
        'button',
        { type: 'button', class: 'chip', dataset: { filter: k }, title: 'Remove this filter', on: { click: () => go({ [k]: null }) } },
        `${k.replace('_', ' ')} is ${v} ✕`,
      ),
    ),
  );
}

async function drawKpis(st) {
  const len = dayCount(st.from, st.to);
  const previous = [addDays(st.from, -len), addDays(st.from, -1)];
  const visitMetrics = KPIS.map(([m]) => m).filter((m) => m !== 'matched_calls');
  const calls = st.filters.length === 0;
  const [now, before, callsNow, callsBefore] = await Promise.all([
    stats(st, { metrics: visitMetrics }),
    stats(st, { metrics: visitMetrics }, previous),
    calls ? stats(st, { metrics: ['matched_calls'] }, [st.from, st.to], false) : null,
    calls ? stats(st, { metrics: ['matched_calls'] }, previous, false) : null,
  ]);
  const value = (answer, metrics, name) => {
    const i = metrics.indexOf(name);
    return answer && i >= 0 && answer.results.length ? answer.results[0].metrics[i] : i >= 0 && answer ? 0 : null;
  };
  const box = document.getElementById('kpis');
  box.replaceChildren(
    ...KPIS.map(([name, label]) => {
      const isCall = name === 'matched_calls';
      const v = isCall ? value(callsNow, ['matched_calls'], name) : value(now, visitMetrics, name);
      const p = isCall ? value(callsBefore, ['matched_calls'], name) : value(before, visitMetrics, name);
      // a shorter visit or fewer bounces is the better news
      const [text, direction] = change(v, p);
      const good = name === 'bounce_rate' ? { up: 'bad', down: 'good' } : { up: 'good', down: 'bad' };
      return h(
        'div',
        { class: 'kpi card', id: `kpi-${name}`, title: isCall && !calls ? 'calls are not filtered: remove the filters' : false },
        h('span', { class: 'label' }, label),
        h('span', { class: 'value' }, formatMetric(name, v)),
        h('span', { class: `change ${good[direction] || ''}` }, text && `${text} vs previous`),
      );
    }),
  );
}

let plot = null;

async function drawChart(st) {
  const hourly = dayCount(st.from, st.to) === 1;
  const answer = await stats(st, {
    metrics: ['visitors', 'pageviews'],
    dimensions: [hourly ? 'time:hour' : 'time:day'],
    include: { time_labels: true },
  });
  const byLabel = new Map(answer.results.map((r) => [r.dimensions[0], r.metrics]));
  const labels = answer.meta.time_labels || [...byLabel.keys()];
  const xs = labels.map((l) => Date.parse(hourly ? l.replace(' ', 'T') : `${l}T00:00:00`) / 1000);
  const visitors = labels.map((l) => (byLabel.get(l) || [0, 0])[0]);
  const views = labels.map((l) => (byLabel.get(l) || [0, 0])[1]);
  const box = document.getElementById('chart');
  if (plot) plot.destroy();
  box.replaceChildren(h('h2', {}, 'Visitors and pageviews'));
  const opts = {
    width: Math.max(box.clientWidth - 32, 240),
    height: 220,
    scales: { x: { time: true } },
    axes: [{ stroke: '#555' }, { stroke: '#555' }],
    series: [
      {},
      { label: 'Visitors', stroke: '#4f46e5', fill: 'rgba(79,70,229,0.12)', width: 2 },
      { label: 'Pageviews', stroke: '#0ea5e9', width: 1.5 },
    ],
  };
  plot = new uPlot(opts, [xs, visitors, views], box);
}

async function drawPanels(st) {
  const answers = await Promise.all(
    PANELS.map(([, key]) =>
      stats(st, {
        metrics: key === 'page' ? ['visitors', 'pageviews'] : ['visitors'],
        dimensions: [FILTERS[key]],
        pagination: { limit: 10, offset: 0 },
      }),
    ),
  );
  const box = document.getElementById('panels');
  box.replaceChildren(
    ...PANELS.map(([title, key, column], i) => {
      const rows = answers[i].results;
      const active = st.filters.some(([k]) => k === key);
      return h(
        'div',
        { class: 'panel card', dataset: { dim: FILTERS[key] } },
        h('h2', {}, title),
        rows.length === 0
          ? h('p', { class: 'empty' }, 'No data for this period')
          : h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', {}, column), h('th', {}, 'Visitors'), key === 'page' ? h('th', {}, 'Views') : null)),
              h(
                'tbody',
                {},
                rows.map((r) =>
                  h(
                    'tr',
                    {
                      dataset: { value: r.dimensions[0] },
                      class: active ? 'static' : 'row',
                      tabindex: active ? false : '0',
                      title: active ? false : `Filter on ${r.dimensions[0]}`,
                      on: active ? {} : { click: () => go({ [key]: r.dimensions[0] }), keydown: (e) => e.key === 'Enter' && go({ [key]: r.dimensions[0] }) },
                    },
                    h('td', {}, h('span', { class: 'bar' }), h('span', { class: 'name' }, r.dimensions[0] || '(none)')),
                    h('td', { class: 'num' }, r.metrics[0]),
                    key === 'page' ? h('td', { class: 'num' }, r.metrics[1]) : null,
                  ),
                ),
              ),
            ),
      );
    }),
  );
  // bar widths through the CSSOM (allowed by the page's CSP, unlike style attributes)
  box.querySelectorAll('.panel').forEach((panel, i) => {
    const rows = answers[i].results;
    const top = Math.max(1, ...rows.map((r) => r.metrics[0]));
    panel.querySelectorAll('tbody tr').forEach((tr, j) => {
      tr.querySelector('.bar').style.width = `${(rows[j].metrics[0] / top) * 100}%`;
    });
  });
}

async function drawRealtime() {
  const n = await api(`/api/v1/stats/realtime/visitors?site_id=${encodeURIComponent(SITE)}`);
  document.querySelector('#realtime b').textContent = String(n);
}

// The leads API pages newest first from a start date; the period's end is applied here, reading
// on (a few pages at most) past the leads newer than the period.
async function periodLeads(st, wanted = 25) {
  const since = encodeURIComponent(st.from.toISOString());
  const end = addDays(st.to, 1).getTime();
  const found = [];
  let cursor = '';
  for (let pages = 0; pages < 5 && found.length < wanted; pages++) {
    const answer = await api(`/api/leads?limit=100&since=${since}${cursor && `&cursor=${encodeURIComponent(cursor)}`}`);
    found.push(...(answer.leads || []).filter((lead) => Date.parse(lead.created_at) < end));
    if (!answer.next_cursor) break;
    cursor = answer.next_cursor;
  }
  return found.slice(0, wanted);
}

async function drawInbox(st) {
  const leads = await periodLeads(st);
  const box = document.getElementById('inbox');
  box.replaceChildren(
    h('h2', {}, 'Leads inbox'),
    leads.length === 0
      ? h('p', { class: 'empty' }, 'No leads in this period')
      : h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['When', 'Score', 'Kind', 'Source / campaign', 'Click id', 'Phone', 'Stage', ''].map((t) => h('th', {}, t)))),
            h('tbody', {}, leads.map(leadRow)),
          ),
        ),
  );
}

function leadRow(lead) {
  const c = lead.campaign || {};
  const source = [c.utm_source, c.utm_campaign].filter(Boolean).join(' / ') || '—';
  const clicked = Object.values(lead.click_ids || {}).some(Boolean);
  const stage = h('td', { class: 'stage' }, lead.stage);
  const buttons = STAGE_BUTTONS.map((s) =>
    h('button', { type: 'button', class: `stage-${s}`, dataset: { stage: s }, disabled: lead.stage === s }, s),
  );
  const row = h(
    'tr',
    { dataset: { lead: lead.id } },
    h('td', {}, new Date(lead.created_at).toLocaleString()),
    h('td', { class: 'num' }, lead.score),
    h('td', {}, lead.kind),
    h('td', {}, source),
    h('td', {}, clicked ? 'yes' : 'no'),
    h('td', {}, lead.phone_number || '—'),
    stage,
    h('td', { class: 'buttons' }, buttons),
  );
  buttons.forEach((b) =>
    b.addEventListener('click', async () => {
      buttons.forEach((x) => (x.disabled = true));
      try {
        const answer = await api(`/api/leads/${encodeURIComponent(lead.id)}/stage`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ stage: b.dataset.stage }),
        });
        lead.stage = answer.stage;
        stage.textContent = answer.stage;
        showError('');
      } catch (e) {
        showError(`The stage was not changed: ${e.message}`);
      }
      buttons.forEach((x) => (x.disabled = x.dataset.stage === lead.stage));
    }),
  );
  return row;
}

let generation = 0;

async function refresh() {
  const mine = ++generation;
  const st = state();
  drawControls(st);
  const parts = [drawKpis(st), drawChart(st), drawPanels(st), drawRealtime()];
  if (OWNER) parts.push(drawInbox(st));
  const outcomes = await Promise.allSettled(parts);
  if (mine !== generation) return;
  const failed = outcomes.find((o) => o.status === 'rejected');
  showError(failed ? `Some numbers could not be read: ${failed.reason.message}` : '');
  document.body.dataset.loaded = String(mine); // the page is drawn for this state
}

function start() {
  skeleton();
  window.addEventListener('popstate', refresh);
  window.addEventListener('resize', () => {
    const box = document.getElementById('chart');
    if (plot) plot.setSize({ width: Math.max(box.clientWidth - 32, 240), height: 220 });
  });
  setInterval(() => drawRealtime().catch(() => {}), 30000);
  refresh();
}

if (document.getElementById('app') && SITE) start();
