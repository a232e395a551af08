// StateKit State Explorer: a small page over the Explorer's JSON API (same origin, no dependencies). Everything shown
// comes from the API and is written with textContent, never as HTML.
(() => {
  'use strict';
  const $ = id => document.getElementById(id);
  const state = { store: '', shard: null, scope: null, key: null, readOnly: false, events: null, timer: null };

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function status(text, error) {
    const footer = $('status');
    footer.textContent = text;
    footer.className = error ? 'error' : '';
  }

  async function api(path, params, body) {
    const query = new URLSearchParams({ store: state.store, ...(params || {}) });
    const response = await fetch('api/' + path + '?' + query, body === undefined ? {} : {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-StateKit-Explorer': '1' },
      body: JSON.stringify({ store: state.store, ...body }),
    });
    const type = response.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await response.json() : null;
    if (!response.ok) throw new Error((data && (data.detail || data.title)) || ('HTTP ' + response.status));
    return data;
  }

  function when(value) { return value ? new Date(value).toISOString().replace('T', ' ').replace('.000Z', 'Z') : 'never'; }

  async function loadInfo() {
    const info = await api('info');
    state.readOnly = info.readOnly;
    document.body.dataset.readOnly = info.readOnly;
    const select = $('stores');
    select.replaceChildren(...info.stores.map(s => {
      const option = el('option', s.name || 'default');
      option.value = s.name;
      return option;
    }));
    select.value = state.store;
    const current = info.stores.find(s => s.name === state.store) || info.stores[0];
    const text = $('store-info');
    text.replaceChildren(el('span', current.pipeline), el('span', current.healthy ? ` · healthy (${current.milliseconds} ms)` : ` · unhealthy: ${current.error}`, current.healthy ? '' : 'unhealthy'));
    text.dataset.healthy = current.healthy;
    return current;
  }

  async function loadScopes() {
    const data = await api('scopes', { filter: $('scope-filter').value });
    $('scopes').replaceChildren(...data.scopes.map(s => {
      const li = el('li', s.shard);
      li.dataset.shard = s.shard;
      li.append(el('span', `${s.entries} entries · ${s.lists} lists`, 'count'));
      if (s.shard === state.shard) li.classList.add('selected');
      li.onclick = () => selectScope(s.shard).catch(e => status(e.message, true));
      return li;
    }));
    $('scopes-more').hidden = !data.truncated;
  }

  async function selectScope(shard) {
    state.shard = shard;
    state.key = null;
    for (const li of $('scopes').children) li.classList.toggle('selected', li.dataset.shard === shard);
    await loadScope();
  }

  async function loadScope() {
    if (!state.shard) return;
    const data = await api('scope', { shard: state.shard });
    state.scope = data.scope;
    $('scope-title').textContent = data.scope || data.shard;
    $('entries').replaceChildren(...data.entries.map(e => {
      const li = el('li', e.valueKey || e.key);
      li.dataset.key = e.key;
      li.append(el('span', `v${e.version}` + (e.expiresAt ? ` · expires ${when(e.expiresAt)}` : ''), 'sub'));
      if (e.key === state.key) li.classList.add('selected');
      li.onclick = () => selectEntry(e.key).catch(err => status(err.message, true));
      return li;
    }));
    $('other').replaceChildren(...data.other.map(e => {
      const li = el('li', e.key);
      li.dataset.key = e.key;
      li.append(el('span', `v${e.version}`, 'sub'));
      li.onclick = () => selectEntry(e.key).catch(err => status(err.message, true));
      return li;
    }), ...data.otherLists.map(l => {
      const li = el('li', l.key);
      li.dataset.key = l.key;
      li.append(el('span', `${l.length} items`, 'sub'));
      li.onclick = () => selectList(l.key).catch(err => status(err.message, true));
      return li;
    }));
    $('lists').replaceChildren(...data.lists.map(l => {
      const li = el('li', l.listKey || l.key);
      li.dataset.key = l.key;
      li.append(el('span', `${l.length} items`, 'sub'));
      li.onclick = () => selectList(l.key).catch(err => status(err.message, true));
      return li;
    }));
    $('checkpoints').replaceChildren(...data.checkpoints.map(c => {
      const li = el('li');
      li.dataset.id = c.id;
      li.append(el('span', `${c.name} · ${when(c.createdAt)} · ${c.entryCount} values, ${c.listCount} lists`));
      if (!state.readOnly) {
        const restore = el('button', 'Restore', 'restore');
        restore.type = 'button';
        restore.onclick = () => restoreCheckpoint(c).catch(err => status(err.message, true));
        const fork = el('button', 'Fork', 'fork');
        fork.type = 'button';
        fork.onclick = () => forkCheckpoint(c).catch(err => status(err.message, true));
        li.append(restore, fork);
      }
      return li;
    }));
  }

  async function selectEntry(key) {
    state.key = key;
    for (const li of $('entries').children) li.classList.toggle('selected', li.dataset.key === key);
    await loadEntry();
  }

  async function loadEntry() {
    const e = await api('entry', { key: state.key });
    $('detail-title').textContent = e.valueKey ? `${e.scope} · ${e.valueKey}` : e.key;
    $('meta').textContent = `version ${e.version} · expires ${when(e.expiresAt)} · ${e.encoding}`;
    $('meta').dataset.version = e.version;
    $('value').textContent = e.value;
    const history = e.history.map(h => h.version);
    if (!history.includes(e.version)) history.push(e.version);
    $('history').hidden = !e.valueKey;
    $('timeline').replaceChildren(...history.map(v => {
      const info = e.history.find(h => h.version === v);
      const li = el('li');
      li.dataset.version = v;
      li.append(el('span', `v${v}`), el('span', info ? when(info.writtenAt) : 'current', 'when'));
      if (v === e.version) li.classList.add('current');
      li.onclick = () => showVersion(v).catch(err => status(err.message, true));
      if (!state.readOnly && info) {
        const fork = el('button', 'Fork from here', 'fork-as-of');
        fork.type = 'button';
        fork.onclick = event => { event.stopPropagation(); forkAsOf(info.writtenAt).catch(err => status(err.message, true)); };
        li.append(fork);
      }
      return li;
    }));
    for (const id of ['diff-from', 'diff-to']) {
      $(id).replaceChildren(...history.map(v => { const o = el('option', 'v' + v); o.value = v; return o; }));
    }
    if (history.length > 1) $('diff-from').value = history[history.length - 2];
    $('diff-to').value = e.version;
    $('diff-result').tBodies[0].replaceChildren();
  }

  async function showVersion(version) {
    const v = await api('version', { key: state.key, version });
    $('value').textContent = v.value;
    $('meta').textContent = `version ${v.version} (from the history)`;
    $('meta').dataset.version = v.version;
  }

  async function showDiff() {
    const rows = await api('diff', { key: state.key, from: $('diff-from').value, to: $('diff-to').value });
    $('diff-result').tBodies[0].replaceChildren(...rows.map(r => {
      const tr = el('tr', undefined, r.kind);
      tr.append(el('td', r.path), el('td', r.kind), el('td', r.oldValue ?? ''), el('td', r.newValue ?? ''));
      return tr;
    }));
    if (rows.length === 0) status('No changes between these versions.');
  }

  async function selectList(key) {
    state.key = null;
    const data = await api('list', { key });
    $('detail-title').textContent = key;
    $('meta').textContent = `${data.length} items` + (data.length > data.items.length ? ` (first ${data.items.length} shown)` : '');
    $('value').textContent = data.items.map((item, i) => `[${data.start + i}] ${item}`).join('\n');
    $('history').hidden = true;
  }

  async function restoreCheckpoint(c) {
    if (!confirm(`Restore ${state.scope} to checkpoint "${c.name}"? Its current values and lists are replaced.`)) return;
    await api('checkpoints/restore', {}, { scope: state.scope, id: c.id });
    status(`Restored ${state.scope} to "${c.name}".`);
    await loadScope();
    if (state.key) await loadEntry().catch(() => {});
  }

  async function forkCheckpoint(c) {
    const target = prompt(`Fork ${state.scope} as checkpoint "${c.name}" holds it into a new, empty scope:`, state.scope + '-fork');
    if (!target) return;
    const result = await api('checkpoints/fork', {}, { scope: state.scope, id: c.id, target });
    status(`Forked into ${result.target}: ${result.values} values, ${result.lists} lists.`);
    await loadScopes();
  }

  async function forkAsOf(writtenAt) {
    const target = prompt(`Fork ${state.scope} with its values as they were at ${when(writtenAt)} into a new, empty scope:`, state.scope + '-fork');
    if (!target) return;
    const result = await api('checkpoints/fork', {}, { scope: state.scope, asOf: writtenAt, target });
    status(`Forked into ${result.target}: ${result.values} values, ${result.lists} lists (as of ${when(writtenAt)}).`);
    await loadScopes();
  }

  function listen() {
    if (state.events) state.events.close();
    const badge = $('live');
    const source = new EventSource('api/changes?' + new URLSearchParams({ store: state.store }));
    state.events = source;
    source.addEventListener('ready', () => { badge.textContent = 'live'; badge.className = 'badge on'; });
    source.addEventListener('unsupported', () => { badge.textContent = 'no change feed'; badge.className = 'badge'; source.close(); });
    source.onerror = () => { badge.textContent = 'reconnecting…'; badge.className = 'badge'; };
    source.onmessage = message => {
      const change = JSON.parse(message.data);
      const events = $('events');
      events.prepend(el('li', `${new Date().toISOString().slice(11, 19)} ${change.kind} ${change.key} v${change.version}`));
      while (events.children.length > 50) events.lastChild.remove();
      clearTimeout(state.timer);
      state.timer = setTimeout(() => refresh(change.key).catch(err => status(err.message, true)), 150);
    };
  }

  async function refresh(changedKey) {
    await loadScopes();
    if (state.shard) await loadScope();
    if (state.key && (!changedKey || changedKey === state.key)) await loadEntry().catch(() => {});
  }

  async function start() {
    $('stores').onchange = () => {
      state.store = $('stores').value;
      state.shard = state.key = null;
      start().catch(err => status(err.message, true));
    };
    $('scope-filter').oninput = () => loadScopes().catch(err => status(err.message, true));
    $('diff').onclick = () => showDiff().catch(err => status(err.message, true));
    const current = await loadInfo();
    await loadScopes();
    if (current.changeFeed) listen(); else { $('live').textContent = 'no change feed'; }
    document.body.dataset.ready = 'true';
  }

  start().catch(err => status(err.message, true));
})();
