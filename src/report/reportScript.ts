/**
 * The report's only script: plain browser JavaScript, a few KB, run under the page's CSP by its hash. It reads the
 * embedded JSON, keeps one filter (protocol, country, text, time range, signal) in the URL hash and redraws the
 * tables, the map colours and the timeline selection from it. It only ever writes text (`textContent`), never
 * markup, so no string from a packet can become HTML. Kept free of backticks so it can live in this template.
 */
export const REPORT_SCRIPT = String.raw`(function () {
'use strict';
var $ = function (id) { return document.getElementById(id); };
var S = JSON.parse($('capture-summary').textContent);
var X = JSON.parse($('report-context').textContent);
var start = X.start || 0;
var PAGE = 25;
var F = { proto: '', cc: '', q: '', from: '', to: '', sig: '' };

function addr(ep) {
  if (ep.charAt(0) === '[') return ep.slice(1, ep.indexOf(']'));
  var i = ep.indexOf(':');
  return i > 0 && ep.indexOf(':', i + 1) < 0 ? ep.slice(0, i) : ep;
}
function port(ep) {
  var m = ep.charAt(0) === '[' ? /\]:(\d+)$/.exec(ep) : /^[^:]+:(\d+)$/.exec(ep);
  return m ? m[1] : '';
}
function info(ip) { return X.addresses[ip] || {}; }
function where(ip) {
  var i = info(ip);
  return i.k ? i.k : i.c || '';
}
function whereText(ip) {
  var i = info(ip);
  if (i.l) return i.l;
  return i.c ? (X.countries[i.c] || i.c) : 'unknown';
}
function bytes(n) {
  // As formatBytes in src/pcap/formatSummaryText.ts, so page and messages agree.
  if (n < 1024) return n + ' B';
  var u = ['KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  n /= 1024;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(1) + ' ' + u[i];
}
function secs(t) { return ((t - start) / 1000).toFixed(3); }

var C = S.conversations.map(function (c, i) {
  var aa = addr(c.a), ba = addr(c.b);
  var remote = aa === X.local ? ba : ba === X.local ? aa : ba;
  var f = Date.parse(c.firstSeen), l = Date.parse(c.lastSeen);
  return {
    i: i, c: c, aa: aa, ba: ba, remote: remote, f: f, l: l, dur: (l - f) / 1000,
    state: c.connState || (c.tcp ? (c.tcp.rst ? 'RST' : c.packetsBtoA === 0 ? 'no reply' : '') : ''),
    cc: where(remote), as: info(remote).a || 0,
    text: [c.protocol, c.a, c.b, c.connState || '', info(remote).o || '', whereText(remote)].join(' ').toLowerCase()
  };
});
var sigSets = X.signals.map(function (list) {
  var s = {};
  list.forEach(function (i) { s[i] = true; });
  return s;
});

function readHash() {
  var p = new URLSearchParams(location.hash.slice(1));
  Object.keys(F).forEach(function (k) { F[k] = p.get(k) || ''; });
}
function writeHash() {
  var p = new URLSearchParams();
  Object.keys(F).forEach(function (k) { if (F[k] !== '') p.set(k, F[k]); });
  var h = p.toString();
  history.replaceState(null, '', h ? '#' + h : location.pathname + location.search);
}
function matches(r) {
  if (F.proto && r.c.protocol !== F.proto) return false;
  if (F.cc && where(r.aa) !== F.cc && where(r.ba) !== F.cc) return false;
  if (F.q && r.text.indexOf(F.q.toLowerCase()) < 0) return false;
  if (F.from !== '' && (r.l - start) / 1000 < Number(F.from)) return false;
  if (F.to !== '' && (r.f - start) / 1000 > Number(F.to)) return false;
  if (F.sig !== '' && !(sigSets[Number(F.sig)] || {})[r.i]) return false;
  return true;
}

function el(tag, text, cls) {
  var e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function copyButton(label, value, what) {
  var b = el('button', label, 'copy');
  b.type = 'button';
  b.setAttribute('aria-label', 'Copy ' + what + ': ' + value);
  b.addEventListener('click', function () {
    if (navigator.clipboard) navigator.clipboard.writeText(value).catch(function () {});
    $('copy-status').textContent = what + ' copied: ' + value;
  });
  return b;
}
function wireshark(c) {
  var v6 = c.a.charAt(0) === '[' || addr(c.a).indexOf(':') >= 0;
  var ip = v6 ? 'ipv6' : 'ip';
  var f = ip + '.addr==' + addr(c.a) + ' && ' + ip + '.addr==' + addr(c.b);
  if (c.protocol === 'tcp' || c.protocol === 'udp')
    f += ' && ' + c.protocol + '.port==' + port(c.a) + ' && ' + c.protocol + '.port==' + port(c.b);
  else if (c.protocol === 'icmp' || c.protocol === 'icmpv6') f += ' && ' + c.protocol;
  return f;
}
function bpf(c) {
  var f = 'host ' + addr(c.a) + ' and host ' + addr(c.b);
  if (c.protocol === 'tcp' || c.protocol === 'udp')
    f += ' and ' + c.protocol + ' port ' + port(c.a) + ' and ' + c.protocol + ' port ' + port(c.b);
  else if (c.protocol === 'icmp') f += ' and icmp';
  else if (c.protocol === 'icmpv6') f += ' and icmp6';
  return f;
}

/** A sortable, paged table: columns are [key, label, numeric, render?]. */
function Table(id, columns, sortKey) {
  this.t = $(id); this.cols = columns; this.key = sortKey; this.desc = true; this.page = 0; this.rows = [];
  var self = this, tr = el('tr');
  columns.forEach(function (col) {
    var th = el('th'); th.scope = 'col';
    if (col[2]) th.className = 'num';
    if (col[0]) {
      var b = el('button', col[1]); b.type = 'button';
      b.addEventListener('click', function () {
        if (self.key === col[0]) self.desc = !self.desc; else { self.key = col[0]; self.desc = !!col[2]; }
        self.page = 0; self.draw();
      });
      th.appendChild(b);
    } else th.textContent = col[1];
    tr.appendChild(th);
  });
  this.t.tHead.appendChild(tr);
  var pager = $(id + '-pager');
  this.info = el('span', '', 'pageinfo');
  this.prev = el('button', 'Previous page'); this.prev.type = 'button';
  this.next = el('button', 'Next page'); this.next.type = 'button';
  this.prev.addEventListener('click', function () { self.page--; self.draw(); });
  this.next.addEventListener('click', function () { self.page++; self.draw(); });
  pager.appendChild(this.prev); pager.appendChild(this.info); pager.appendChild(this.next);
}
Table.prototype.set = function (rows) { this.rows = rows; this.page = 0; this.draw(); };
Table.prototype.draw = function () {
  var k = this.key, d = this.desc ? -1 : 1;
  var rows = this.rows.slice().sort(function (x, y) {
    var a = x[k], b = y[k];
    return (a < b ? -1 : a > b ? 1 : 0) * d || x.i - y.i;
  });
  var pages = Math.max(1, Math.ceil(rows.length / PAGE));
  this.page = Math.min(Math.max(0, this.page), pages - 1);
  var body = document.createElement('tbody');
  var cols = this.cols;
  rows.slice(this.page * PAGE, this.page * PAGE + PAGE).forEach(function (r) {
    var tr = el('tr');
    cols.forEach(function (col) {
      var td = el('td');
      if (col[2]) td.className = 'num';
      if (col[4]) td.className = col[4];
      if (col[3]) col[3](td, r); else td.textContent = String(r[col[0]]);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  this.t.replaceChild(body, this.t.tBodies[0]);
  var self = this;
  Array.prototype.forEach.call(this.t.tHead.rows[0].cells, function (th, i) {
    var key = cols[i][0];
    if (key) th.setAttribute('aria-sort', key === self.key ? (self.desc ? 'descending' : 'ascending') : 'none');
  });
  this.info.textContent = rows.length === 0 ? 'no rows' :
    'rows ' + (this.page * PAGE + 1) + '–' + Math.min(rows.length, this.page * PAGE + PAGE) + ' of ' + rows.length;
  this.prev.disabled = this.page === 0;
  this.next.disabled = this.page >= pages - 1;
};

function text(td, v) { td.textContent = v; }
var conv = new Table('conversations-table', [
  ['proto', 'Protocol', false, function (td, r) { text(td, r.c.protocol); }],
  ['a', 'Endpoint A', false, function (td, r) { text(td, r.c.a); }, 'mono nowrap'],
  ['b', 'Endpoint B', false, function (td, r) { text(td, r.c.b); }, 'mono nowrap'],
  ['state', 'State', false],
  ['cc', 'Remote', false, function (td, r) { text(td, whereText(r.remote)); }, 'wide'],
  ['as', 'AS', true, function (td, r) { text(td, r.as ? 'AS' + r.as + ' ' + (info(r.remote).o || '') : ''); }],
  ['packets', 'Packets', true, function (td, r) { text(td, r.c.packets); }],
  ['bytes', 'Bytes', true, function (td, r) { text(td, bytes(r.c.bytes)); }],
  ['f', 'Start (s)', true, function (td, r) { text(td, secs(r.f)); }],
  ['dur', 'Duration (s)', true, function (td, r) { text(td, r.dur.toFixed(3)); }],
  ['', 'Copy filter', false, function (td, r) {
    td.appendChild(copyButton('Wireshark', wireshark(r.c), 'Wireshark filter'));
    td.appendChild(copyButton('BPF', bpf(r.c), 'BPF filter'));
  }, 'nowrap']
], 'bytes');
C.forEach(function (r) {
  r.proto = r.c.protocol; r.a = r.c.a; r.b = r.c.b; r.packets = r.c.packets; r.bytes = r.c.bytes;
});
var ends = new Table('endpoints-table', [
  ['ip', 'Address', false, undefined, 'mono nowrap'],
  ['where', 'Where', false, undefined, 'wide'],
  ['as', 'AS', true, function (td, r) { text(td, r.as ? 'AS' + r.as + ' ' + (info(r.ip).o || '') : ''); }],
  ['tx', 'Sent', true, function (td, r) { text(td, bytes(r.tx)); }],
  ['rx', 'Received', true, function (td, r) { text(td, bytes(r.rx)); }],
  ['peers', 'Peers', true],
  ['n', 'Conversations', true]
], 'total');
var ports = new Table('ports-table', [
  ['port', 'Server port', false],
  ['n', 'Conversations', true],
  ['packets', 'Packets', true],
  ['bytes', 'Bytes', true, function (td, r) { text(td, bytes(r.bytes)); }]
], 'bytes');
var protos = new Table('protocols-table', [
  ['proto', 'Protocol', false],
  ['n', 'Conversations', true],
  ['packets', 'Packets', true],
  ['bytes', 'Bytes', true, function (td, r) { text(td, bytes(r.bytes)); }]
], 'bytes');

function endpointRows(rows) {
  var m = {}, n = 0;
  function get(ip) {
    var e = m[ip];
    if (!e) {
      e = m[ip] = { i: n++, ip: ip, where: whereText(ip), as: info(ip).a || 0, tx: 0, rx: 0, total: 0, n: 0, p: {} };
    }
    return e;
  }
  rows.forEach(function (r) {
    var a = get(r.aa), b = get(r.ba);
    a.tx += r.c.bytesAtoB; a.rx += r.c.bytesBtoA; b.tx += r.c.bytesBtoA; b.rx += r.c.bytesAtoB;
    a.n++; b.n++; a.p[r.ba] = 1; b.p[r.aa] = 1;
  });
  return Object.keys(m).map(function (k) {
    var e = m[k];
    e.total = e.tx + e.rx; e.peers = Object.keys(e.p).length;
    return e;
  });
}
function group(rows, key) {
  var m = {}, n = 0;
  rows.forEach(function (r) {
    var k = key(r);
    if (k === '') return;
    var g = m[k] || (m[k] = { i: n++, port: k, proto: k, n: 0, packets: 0, bytes: 0 });
    g.n++; g.packets += r.c.packets; g.bytes += r.c.bytes;
  });
  return Object.keys(m).map(function (k) { return m[k]; });
}

function paintMap(rows) {
  var by = {}, max = 0;
  rows.forEach(function (r) { var k = where(r.remote); if (k) by[k] = (by[k] || 0) + r.c.bytes; });
  Object.keys(by).forEach(function (k) { if (X.countries[k] && by[k] > max) max = by[k]; });
  Array.prototype.forEach.call(document.querySelectorAll('#map path[data-cc]'), function (p) {
    var v = by[p.getAttribute('data-cc')] || 0;
    var level = v === 0 ? 0 : Math.max(1, Math.ceil(5 * Math.log(1 + v) / Math.log(1 + max)));
    p.setAttribute('class', 'c' + level + (F.cc === p.getAttribute('data-cc') ? ' picked' : ''));
  });
  Array.prototype.forEach.call(document.querySelectorAll('[data-bucket]'), function (e) {
    e.textContent = bytes(by[e.getAttribute('data-bucket')] || 0);
  });
}
function paintTimeline() {
  var sel = $('tl-selection'), T = X.timeline;
  if (!sel || !T) return;
  var span = T.buckets * T.bucketSeconds, off = (T.start - start) / 1000;
  var from = F.from === '' ? null : Number(F.from), to = F.to === '' ? null : Number(F.to);
  if (from === null && to === null) { sel.setAttribute('width', '0'); return; }
  var x0 = Math.max(0, ((from === null ? off : from) - off) / span), x1 = Math.min(1, ((to === null ? off + span : to) - off) / span);
  sel.setAttribute('x', String(X.plot.x + x0 * X.plot.w));
  sel.setAttribute('width', String(Math.max(1, (x1 - x0) * X.plot.w)));
  Array.prototype.forEach.call(document.querySelectorAll('#timeline [data-proto]'), function (p) {
    p.setAttribute('opacity', F.proto && p.getAttribute('data-proto') !== F.proto ? '0.2' : '1');
  });
}

function render() {
  Object.keys(F).forEach(function (k) { var i = $('f-' + k); if (i && i.value !== F[k]) i.value = F[k]; });
  var rows = C.filter(matches);
  conv.set(rows);
  ends.set(endpointRows(rows));
  ports.set(group(rows, function (r) {
    var p = port(r.c.b);
    return p ? r.c.protocol + '/' + p : '';
  }));
  protos.set(group(rows, function (r) { return r.c.protocol; }));
  paintMap(rows);
  paintTimeline();
  var total = rows.reduce(function (n, r) { return n + r.c.bytes; }, 0);
  $('filter-status').textContent = rows.length + ' of ' + C.length + ' listed conversations' +
    (X.total > C.length ? ' (' + X.total + ' in the capture)' : '') + ', ' + bytes(total) + ' shown';
  Array.prototype.forEach.call(document.querySelectorAll('[data-signal]'), function (b) {
    b.setAttribute('aria-pressed', String(b.getAttribute('data-signal') === F.sig));
  });
}
function update() { writeHash(); render(); }

Object.keys(F).forEach(function (k) {
  var i = $('f-' + k);
  if (i) i.addEventListener(i.tagName === 'SELECT' ? 'change' : 'input', function () { F[k] = i.value.trim(); update(); });
});
$('f-clear').addEventListener('click', function () {
  Object.keys(F).forEach(function (k) { F[k] = ''; });
  update();
});
Array.prototype.forEach.call(document.querySelectorAll('[data-signal]'), function (b) {
  b.addEventListener('click', function () {
    F.sig = F.sig === b.getAttribute('data-signal') ? '' : b.getAttribute('data-signal');
    update();
  });
});
Array.prototype.forEach.call(document.querySelectorAll('[data-set-cc]'), function (b) {
  b.addEventListener('click', function () {
    var v = b.getAttribute('data-set-cc');
    F.cc = F.cc === v ? '' : v;
    update();
  });
});
Array.prototype.forEach.call(document.querySelectorAll('#map path[data-cc]'), function (p) {
  p.addEventListener('click', function () {
    var v = p.getAttribute('data-cc');
    F.cc = F.cc === v ? '' : v;
    update();
  });
});
var svg = $('timeline'), drag = null;
function at(ev) {
  var r = svg.getBoundingClientRect(), T = X.timeline;
  var x = (ev.clientX - r.left) * (svg.viewBox.baseVal.width / r.width);
  var u = Math.min(1, Math.max(0, (x - X.plot.x) / X.plot.w));
  return ((T.start - start) / 1000 + u * T.buckets * T.bucketSeconds);
}
if (svg && X.timeline) {
  svg.addEventListener('pointerdown', function (ev) { drag = at(ev); });
  svg.addEventListener('pointerup', function (ev) {
    if (drag === null) return;
    var b = at(ev), a = drag; drag = null;
    if (Math.abs(b - a) < X.timeline.bucketSeconds / 2) { F.from = ''; F.to = ''; }
    else { F.from = Math.min(a, b).toFixed(1); F.to = Math.max(a, b).toFixed(1); }
    update();
  });
}
window.addEventListener('hashchange', function () { readHash(); render(); });
readHash();
render();
document.documentElement.setAttribute('data-ready', 'true');
})();
`;
