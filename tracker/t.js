/*
 * leadstream tracker: the script a site owner adds with one tag,
 *   <script defer src="https://EDGE/t.js" data-site="SITE_ID"></script>
 *
 * Sends page views (SPA too), scroll depth, hover intent on call links, heartbeats while
 * visible, session end, and tel:/WhatsApp clicks (a conversion plus /api/call-event).
 * No cookies, no device fingerprinting: a random visitor id and a session id in localStorage
 * (where a browser refuses localStorage, the tracker stays off). Events wait in an outbox in
 * localStorage until the edge has them (retries with backoff). With data-consent="required"
 * it starts only once leadstream('consent', true) is called: nothing is sent or stored before.
 *
 * Tag options: data-endpoint (edge base URL; default: where this script came from),
 * data-consent="required", data-respect-dnt, data-debug.
 * API: leadstream('track', action, {category, label, value, meta}); leadstream('consent', true|false).
 *
 * Built by `make tracker` (terser, pinned in tracker/package.json) into
 * leadstream/ingest/static/t.min.js, which the edge serves as /t.js (<= 2 KB gzipped).
 *
 * Everything is stored under one localStorage key, 'leadstream': {visitor, session, outbox, consent},
 * its records with one-letter keys to keep the script small:
 *   session  {i: id, m: start month, s: start ms, l: last activity ms, p: landing params}
 *   outbox   [{i: id, b: body, k: 1 for a call (else an event), n: 1 once sent, t: last send ms}]
 */
((win, doc, nav) => {
  try {
    tracker(); // never throws into the host page
  } catch (e) {}

  function tracker() {
    const SESSION_IDLE_MS = 30 * 60e3;
    const HEARTBEAT_MS = 30e3;
    const FLUSH_GAP_MS = 2e3; // at most one flush every 2 s
    const BATCH = 20;
    const OUTBOX_MAX = 200;
    const LEASE_MS = 15e3; // a send still unanswered after this is presumed lost

    const script = doc.currentScript; // a classic script (not a module): its own tag
    const options = script.dataset; // data-site, data-endpoint, data-consent, data-respect-dnt, data-debug
    const site = options.site;
    const log = (...args) => 'debug' in options && console.debug(...args);
    const guard = (fn) => (...args) => {
      try {
        fn(...args);
      } catch (e) {
        log(e);
      }
    };
    const on = (target, type, fn, capture) => target.addEventListener(type, guard(fn), capture);
    const endpoint = (options.endpoint || script.src.replace(/\/t\.js.*/, '')).replace(/\/?$/, '/api/');
    const consentRequired = options.consent == 'required';
    // Given through the API (data-consent="required"), consent is declared to the edge with each event.
    const consent_scopes = consentRequired ? ['analytics', 'marketing'] : undefined;
    const off = !site || ('respectDnt' in options && ((nav.doNotTrack || win.doNotTrack) == 1 || nav.globalPrivacyControl));

    const store = localStorage; // throws where refused: the tracker stays off
    const stored = () => JSON.parse(store.leadstream || '{}');
    const get = (name) => stored()[name];
    const put = (name, value) => {
      const all = stored();
      all[name] = value;
      store.leadstream = JSON.stringify(all);
      return value;
    };
    const consent = get('consent'); // 1 given, 0 refused, undefined: not asked
    let allowed = consent || (!consentRequired && consent != 0);

    // A random UUID v4 in any context (crypto.randomUUID needs https): the template's 0 1 8 become random hex.
    const uuid = () =>
      ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

    // Click ids and utm_* of the landing URL ride along for the rest of the session.
    const landing = {};
    new URLSearchParams(location.search).forEach((value, key) => {
      if (/^(gclid|wbraid|gbraid)$|^utm_/.test(key)) landing[key] = value.slice(0, 256);
    });

    const visitor = () => get('visitor') || put('visitor', uuid());

    const session = () => {
      const now = Date.now();
      let s = get('session');
      if (!(now - s?.l < SESSION_IDLE_MS)) s = { i: uuid(), m: new Date().toISOString().slice(0, 7) + '-01', s: now, p: landing };
      s.l = now;
      return put('session', s);
    };

    const outbox = (items) => (items ? put('outbox', items.slice(-OUTBOX_MAX)) : get('outbox') || []);

    const enqueue = (id, body, call) => {
      outbox([...outbox(), { i: id, b: body, k: call }]);
      schedule();
    };

    const track = (ec, ea, label, value, meta) => {
      if (!allowed) return;
      const s = session();
      const eid = uuid();
      // Undefined fields are left out of the JSON; ev null (no value) is valid. The referrer
      // goes on the view that starts a session.
      const r = (s.l == s.s && ea == 'view' && doc.referrer) || undefined; // an origin, mostly: within 2048
      const event = { s: site, u: location.href, sid: s.i, sm: s.m, ec, ea, eid, el: label?.toString().slice(0, 512), ev: +value, r, consent_scopes };
      event.meta = { fp: visitor(), ...s.p, ...meta };
      enqueue(eid, event);
      log(event);
    };

    // Delivery: text/plain bodies (no preflight), one flush per 2 s at most, exponential
    // backoff on network errors, 429 (Retry-After) and 5xx; any other 4xx drops the items.
    let timer = 0;
    let lastFlush = 0;
    let backoffUntil = 0;
    let failures = 0;

    const schedule = () => {
      timer ||= setTimeout(flush, Math.max(lastFlush + FLUSH_GAP_MS, backoffUntil) - Date.now());
    };

    const answered = guard((ids, status, retryAfter) => {
      const done = status > 199 && status < 500 && status != 429;
      outbox(outbox().filter((x) => !ids.includes(x.i) || (!done && !(x.t = 0))));
      failures = done ? 0 : failures + 1;
      if (!done) backoffUntil = Date.now() + 1e3 * (retryAfter || Math.random() * 2 ** Math.min(failures, 9)); // full jitter, 512 s at most
      schedule();
    });

    // Sends the outbox: events in batches of 20, calls alone; rt marks an event whose earlier
    // send may have arrived (the edge then stores it once). Unloading, everything unanswered
    // goes by sendBeacon (fetch keepalive as fallback), requests still in flight included (the
    // unload cancels them), and leaves the outbox while the edge answers; after failures it
    // stays, and a later page sends it again once the lease is over.
    const send = (unloading) => {
      const now = Date.now();
      const items = outbox();
      const free = items.filter((x) => unloading || !(now - x.t < LEASE_MS));
      const events = free.filter((x) => !x.k);
      const requests = free.filter((x) => x.k).map((x) => [x]);
      for (let i = 0; i < events.length; i += BATCH) requests.push(events.slice(i, i + BATCH));
      for (const sent of requests) {
        const call = sent[0].k;
        const url = endpoint + (call ? 'call-event' : 'sync');
        const body = JSON.stringify(call ? sent[0].b : { events: sent.map((x) => (x.n ? { ...x.b, rt: 1 } : x.b)) });
        const post = (keepalive) => fetch(url, { method: 'POST', body, keepalive });
        const ids = sent.map((x) => ((x.t = now), (x.n = 1), x.i));
        unloading ? nav.sendBeacon(url, body) || post(1) : post().then((r) => answered(ids, r.status, r.headers.get('retry-after')), () => answered(ids, 0));
      }
      outbox(unloading && !failures ? items.filter((x) => x.t != now) : items);
    };

    const flush = guard(() => {
      timer = 0;
      if (Date.now() < backoffUntil) return schedule();
      lastFlush = Date.now();
      send();
    });

    // Page views, SPA navigations included (the fragment alone is not a new page).
    let page;
    let tracked; // per page view: scroll marks and hovered links already tracked
    const view = guard(() => {
      const url = location.href.split('#')[0];
      if (url != page) {
        page = url;
        tracked = {};
        track('interaction', 'view', doc.title);
      }
    });
    const once = (key, action, label, value) => tracked[key] || ((tracked[key] = 1), track('interaction', action, label, value));

    // tel:, whatsapp:, wa.me and api.whatsapp.com links: ['phone' | 'whatsapp', href as written].
    const callLink = (target) => {
      const a = target.closest?.('a[href]');
      // a.href is normalised (lower-case scheme and host); the number goes as the link has it.
      const link = a && /^(tel:)|^(whatsapp:|https?:\/\/(wa\.me|api\.whatsapp\.com)\/)/.exec(a.href);
      return link && [link[1] ? 'phone' : 'whatsapp', a.getAttribute('href')];
    };

    let started;
    const start = () => {
      if (started) return;
      started = 1;
      view();
      for (const name of ['pushState', 'replaceState']) {
        const original = history[name];
        history[name] = (...args) => (original.apply(history, args), view());
      }
      on(win, 'popstate', view);
      on(win, 'scroll', () => {
        const seen = ((scrollY + innerHeight) / doc.documentElement.scrollHeight) * 100;
        // The mark is the label too: the worker counts one of two same-label events within 5 s.
        for (const mark of [50, 90]) seen >= mark && once(mark, 'scroll_depth', mark, mark);
      });
      on(doc, 'mouseover', (e) => {
        const [, number] = callLink(e.target) || [];
        number && once(number, 'hover_intent', number);
      });
      on(
        doc,
        'click',
        (e) => {
          const [kind, number] = callLink(e.target) || [];
          if (!kind) return;
          track('conversion', kind == 'phone' ? 'phone_call' : 'whatsapp', number);
          // The session's landing params go along: the call keeps its click ids, ignores the rest.
          const call = { ...session().p, site_id: site, phone_number: number.slice(0, 256), fingerprint: visitor(), event_id: uuid(), action: kind, url: location.href };
          allowed && enqueue(call.event_id, call, 1);
        },
        true,
      );
      setInterval(guard(() => !doc.hidden && track('system', 'heartbeat')), HEARTBEAT_MS);
      on(win, 'pagehide', () => {
        track('system', 'session_end'); // the worker measures the session from its events' times
        send(1); // after a refusal the outbox is empty
      });
      schedule();
    };

    const api = guard((command, action, props = {}) => {
      if (command == 'consent') {
        // Refused: everything stored is forgotten. Given: tracking starts (if it had not).
        if (!(allowed = !!action)) delete store.leadstream;
        if (allowed || !consentRequired) put('consent', +allowed);
        allowed && start();
      }
      if (command == 'track' && action) {
        const meta = {};
        for (const key in props.meta) meta[key.slice(0, 64)] = String(props.meta[key]).slice(0, 512);
        const category = /^(conversion|acquisition|system)$/.test(props.category) ? props.category : 'interaction';
        track(category, String(action).slice(0, 64), props.label, props.value, meta);
      }
    });

    if (off) return; // calls to a stub queue harmlessly
    const waiting = win.leadstream?.q || [];
    win.leadstream = api;
    allowed && start();
    waiting.forEach((args) => api(...args));
  }
})(window, document, navigator);
