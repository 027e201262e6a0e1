// The Chorus dashboard: polls this node's /v1/ui/state every 2 s and
// renders it. Plain JavaScript, no dependencies, nothing loaded from
// elsewhere. Everything that came from the network is put into the page
// as text (textContent, attributes), never as HTML.
"use strict";

const POLL_MS = 2000;
const HISTORY = 60; // polls kept per node for the sparklines: 2 minutes
const PALETTE = ["#58a6ff", "#3fb950", "#d29922", "#bc8cff", "#ff7b72", "#39c5cf",
  "#f778ba", "#a5d6ff", "#7ee787", "#e3b341", "#ffa657", "#8b949e"];

const history = new Map(); // node -> [req/s, ...]
let lastOK = 0;

// h builds an element: h("td", {class: "num"}, "text", child, ...).
function h(tag, attrs, ...kids) {
  const svg = ["svg", "path", "text", "g", "circle", "polyline", "polygon", "title"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return el;
}

// errCell shows an error message cut to a readable length, the whole of
// it on hover.
function errCell(msg, attrs) {
  const short = msg.length > 140 ? msg.slice(0, 140) + "…" : msg;
  return h("td", Object.assign({ class: "err", title: msg }, attrs || {}), short);
}

function fill(id, ...kids) {
  const el = document.getElementById(id);
  el.replaceChildren(...kids.flat());
  return el;
}

const fmt = {
  rate(v) { return v === undefined ? "—" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); },
  ms(v) {
    if (!v) return "—";
    return v >= 1000 ? (v / 1000).toFixed(2) + " s" : v >= 10 ? v.toFixed(0) + " ms" : v.toFixed(1) + " ms";
  },
  dur(ms) {
    if (ms === undefined || ms < 0) return "never";
    const s = Math.round(ms / 1000);
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m " + (s % 60) + "s";
    if (s < 86400) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
    return Math.floor(s / 86400) + "d " + Math.floor((s % 86400) / 3600) + "h";
  },
  ago(ms) { return ms === undefined || ms < 0 ? "never" : fmt.dur(ms) + " ago"; },
  bytes(b) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i === 0 ? b : b.toFixed(1)) + " " + u[i];
  },
  int(n) { return (n || 0).toLocaleString("en-US"); },
};

function colorOf(members) {
  const m = new Map();
  members.forEach((x, i) => m.set(x.id, PALETTE[i % PALETTE.length]));
  return m;
}

function summaryOf(state, id) {
  const v = state.nodes[id];
  return v && v.summary ? v.summary : null;
}

function reqRate(s) {
  if (!s || s.rates.warming) return undefined;
  return s.rates.gets_per_sec + s.rates.puts_per_sec + s.rates.deletes_per_sec;
}

// ---------- KPIs ----------

function renderKPIs(state) {
  const up = state.members.filter((m) => m.alive).length;
  let req = 0, errs = 0, sloppy = 0, rr = 0, hints = 0, p99 = 0, moving = 0, warming = false;
  for (const m of state.members) {
    const s = summaryOf(state, m.id);
    if (!s) continue;
    if (s.rates.warming) warming = true;
    req += reqRate(s) || 0;
    errs += s.rates.errors_per_sec;
    sloppy += s.rates.sloppy_per_sec;
    rr += s.rates.read_repairs_per_sec;
    hints += s.hints.queued;
    p99 = Math.max(p99, s.rates.get_p99_ms, s.rates.put_p99_ms);
    moving += s.transfers.waiting + s.transfers.running + s.transfers.stalled;
  }
  const kpi = (label, value, unit, cls) =>
    h("div", { class: "kpi " + (cls || "") }, h("div", { class: "label" }, label),
      h("div", { class: "value" }, value, unit ? h("small", {}, unit) : null));
  const w = (v) => (warming && !v ? "…" : fmt.rate(v));
  fill("kpis",
    kpi("Nodes up", up + " / " + state.members.length, "", up === state.members.length ? "ok" : "bad"),
    kpi("Requests", w(req), "/s"),
    kpi("Worst p99", p99 ? fmt.ms(p99) : "—", "", p99 > 100 ? "warn" : ""),
    kpi("Errors", w(errs), "/s", errs > 0 ? "bad" : ""),
    kpi("Sloppy quorum", w(sloppy), "/s", sloppy > 0 ? "warn" : ""),
    kpi("Read repair", w(rr), "/s"),
    kpi("Hints queued", fmt.int(hints), "", hints > 0 ? "warn" : ""),
    kpi("Partitions moving", fmt.int(moving), "", moving > 0 ? "warn" : ""));
}

// ---------- members ----------

function sparkline(values) {
  const w = 110, hgt = 22;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => {
    // Spread over the width until the history is full, then scroll.
    const x = values.length < 2 ? w : (i * w) / (values.length - 1);
    return x.toFixed(1) + "," + (hgt - 1 - (v / max) * (hgt - 3)).toFixed(1);
  });
  const svg = h("svg", { class: "spark", viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none" });
  if (pts.length > 1) {
    const first = pts[0].split(",")[0];
    svg.append(h("polygon", { points: `${first},${hgt} ${pts.join(" ")} ${w},${hgt}` }));
    svg.append(h("polyline", { points: pts.join(" ") }));
  }
  svg.append(h("title", {}, "max " + fmt.rate(max) + " req/s"));
  return svg;
}

function renderMembers(state, colors) {
  const zones = new Set(state.members.map((m) => m.zone || "default"));
  fill("members-sub", `${state.members.length} in the ring · ${zones.size} zone${zones.size === 1 ? "" : "s"}`);
  const rows = state.members.map((m) => {
    const view = state.nodes[m.id] || {};
    const s = view.summary;
    const r = s ? s.rates : null;
    const rate = reqRate(s);
    if (rate !== undefined) {
      const hist = history.get(m.id) || [];
      hist.push(rate);
      if (hist.length > HISTORY) hist.shift();
      history.set(m.id, hist);
    }
    const p99 = (v) => h("td", { class: "num" + (v > 100 ? " slow" : "") }, fmt.ms(v));
    const cells = [
      h("td", { class: "node", "data-node": m.id },
        h("span", { class: "dot " + (m.alive ? "up" : "down"), title: m.alive ? "alive" : "down" }),
        h("span", { class: "swatch", "data-color": colors.get(m.id) }), m.id,
        m.id === state.node ? h("span", { class: "muted" }, " (this node)") : null),
      h("td", {}, h("span", { class: "badge " + m.status }, m.status)),
      h("td", {}, m.zone || h("span", { class: "muted" }, "default")),
      h("td", { title: s ? "commit " + s.commit : "" }, s ? s.version : "—"),
      h("td", { class: "muted" }, m.http_addr || "—"),
      h("td", {}, s ? fmt.dur(s.uptime_ms) : "—"),
    ];
    if (s) {
      cells.push(
        h("td", { class: "num" }, r.warming ? "…" : fmt.rate(rate)),
        h("td", {}, sparkline(history.get(m.id) || [])),
        p99(r.get_p99_ms), p99(r.put_p99_ms),
        h("td", { class: "num" + (r.errors_per_sec > 0 ? " bad" : "") }, fmt.rate(r.errors_per_sec)),
        h("td", { class: "num" }, fmt.rate(r.sloppy_per_sec)),
        h("td", { class: "num" }, fmt.rate(r.read_repairs_per_sec)),
        h("td", { class: "num" }, fmt.int(s.hints.queued)));
    } else {
      cells.push(errCell(view.error || "no answer", { colspan: 8 }));
    }
    return h("tr", { class: m.alive ? "" : "down" }, cells);
  });
  const tbody = document.querySelector("#members tbody");
  tbody.replaceChildren(...rows);
  // Colors are set through the CSSOM: the page's policy forbids inline
  // style attributes.
  tbody.querySelectorAll(".swatch").forEach((el) => { el.style.background = el.dataset.color; });
}

// ---------- ring ----------

function arc(r0, r1, a0, a1) {
  const p = (r, a) => [(r * Math.sin(a)).toFixed(2), (-r * Math.cos(a)).toFixed(2)];
  const large = a1 - a0 > Math.PI ? 1 : 0;
  const [x0, y0] = p(r1, a0), [x1, y1] = p(r1, a1), [x2, y2] = p(r0, a1), [x3, y3] = p(r0, a0);
  return `M${x0},${y0} A${r1},${r1} 0 ${large} 1 ${x1},${y1} L${x2},${y2} A${r0},${r0} 0 ${large} 0 ${x3},${y3} Z`;
}

// ringVersion shortens the ring's 64-bit hash to what a person compares
// across nodes at a glance.
function ringVersion(state) {
  return String(state.ring_version).slice(-6);
}

function renderRing(state, colors) {
  const svg = document.getElementById("ring");
  const q = state.owners.length;
  fill("ring-sub", q ? `${q} partitions · N=${state.replicas} · version ${ringVersion(state)}` : "no ring yet");
  const kids = [];
  const depth = Math.max(1, Math.min(state.replicas || 1, 3));
  const width = 40 / depth;
  for (let p = 0; p < q; p++) {
    const a0 = (p / q) * 2 * Math.PI, a1 = ((p + 1) / q) * 2 * Math.PI;
    const owners = state.owners[p].map((i) => state.members[i]);
    for (let d = 0; d < depth && d < owners.length; d++) {
      const m = owners[d];
      const r1 = 100 - d * (width + 2), r0 = r1 - width;
      kids.push(h("path", { d: arc(r0, r1, a0, a1), fill: colors.get(m.id), class: m.alive ? null : "dead",
        "data-partition": p, "data-owner": m.id, "data-rank": d },
        h("title", {}, `partition ${p}: ${owners.map((o) => o.id).join(", ")}`)));
    }
  }
  const up = state.members.filter((m) => m.alive).length;
  kids.push(h("text", { y: -4 }, `${state.members.length} nodes`));
  kids.push(h("text", { class: "small", y: 8 }, `${up} up · Q=${q}`));
  svg.replaceChildren(...kids);
  // Seams between many thin arcs would grey the ring out.
  svg.classList.toggle("dense", q > 64);

  const rows = state.members.map((m) => {
    const share = q ? m.primaries / q : 0;
    const bar = h("span", { class: "share" }, h("span", { "data-color": colors.get(m.id), "data-share": share }));
    return h("tr", {},
      h("td", { "data-node": m.id }, h("span", { class: "swatch", "data-color": colors.get(m.id) }), m.id),
      h("td", { class: "num" }, fmt.int(m.primaries)),
      h("td", { class: "num" }, fmt.int(m.replicas)),
      h("td", {}, bar, " ", (share * 100).toFixed(1) + "%"));
  });
  const tbody = document.querySelector("#ring-table tbody");
  tbody.replaceChildren(...rows);
  tbody.querySelectorAll("[data-color]").forEach((el) => {
    el.style.background = el.dataset.color;
    if (el.dataset.share !== undefined) el.style.width = (100 * el.dataset.share).toFixed(1) + "%";
  });
}

// ---------- transfers ----------

function bar(progress) {
  const b = h("div", { class: "bar" }, h("span", {}), h("em", {}, (progress * 100).toFixed(0) + "%"));
  b.firstChild.style.width = (progress * 100).toFixed(1) + "%";
  return b;
}

function renderTransfers(state) {
  const rows = [];
  let owed = 0, delivered = 0, done = 0;
  for (const m of state.members) {
    const s = summaryOf(state, m.id);
    if (!s) continue;
    const t = s.transfers;
    owed += t.owed; delivered += t.delivered; done += t.done;
    for (const x of t.list) {
      rows.push(h("tr", {},
        h("td", { "data-node": m.id }, m.id), h("td", { class: "num" }, x.partition),
        h("td", {}, x.source || "—"), h("td", {}, h("span", { class: "badge " + x.state }, x.state)),
        h("td", {}, bar(x.progress)), h("td", { class: "num" }, fmt.int(x.keys)),
        h("td", { class: "num" }, fmt.rate(x.keys_per_sec)), h("td", {}, x.eta_ms ? fmt.dur(x.eta_ms) : "—"),
        x.error ? errCell(x.error) : h("td", {})));
    }
  }
  const note = h("p", { class: "muted" },
    `Handoffs owed to new owners: ${owed - delivered} of ${owed} left · partitions received since start: ${done}`);
  if (!rows.length) {
    fill("transfers", h("div", { class: "empty" }, "No transfers: every partition is with its owners."), note);
    return;
  }
  fill("transfers", h("table", { class: "grid compact" },
    h("thead", {}, h("tr", {}, ["To", "Part.", "From", "State", "Progress", "Keys", "Keys/s", "ETA", ""].map((x) => h("th", {}, x)))),
    h("tbody", {}, rows)), note);
}

// ---------- hints ----------

function renderHints(state) {
  const rows = [];
  for (const m of state.members) {
    const s = summaryOf(state, m.id);
    if (!s) continue;
    for (const t of s.hints.targets) {
      rows.push(h("tr", {},
        h("td", { "data-node": m.id }, m.id), h("td", {}, "→ " + t.target),
        h("td", { class: "num" }, fmt.int(t.queued)), h("td", { class: "num" }, fmt.bytes(t.queued_bytes)),
        h("td", {}, t.queued ? fmt.dur(t.oldest_age_ms) : "—"),
        t.last_error ? errCell(t.last_error) : h("td", { class: "muted" }, "ok")));
    }
  }
  if (!rows.length) {
    fill("hints", h("div", { class: "empty" }, "No hints queued: every write reached its primaries."));
    return;
  }
  fill("hints", h("table", { class: "grid compact" },
    h("thead", {}, h("tr", {}, ["Held by", "For", "Hints", "Bytes", "Oldest", "Last delivery"].map((x) => h("th", {}, x)))),
    h("tbody", {}, rows)));
}

// ---------- anti-entropy ----------

function renderAAE(state) {
  const rows = [];
  let off = 0;
  for (const m of state.members) {
    const s = summaryOf(state, m.id);
    if (!s) continue;
    if (!s.anti_entropy.enabled) { off++; continue; }
    for (const p of s.anti_entropy.peers) {
      const stale = p.oldest_success_ago_ms < 0 || p.oldest_success_ago_ms > 15 * 60 * 1000;
      rows.push(h("tr", {},
        h("td", { "data-node": m.id }, m.id + " ↔ " + p.peer),
        h("td", { class: "num" }, fmt.int(p.partitions)),
        h("td", { class: "num" }, `${fmt.int(p.exchanged)} / ${fmt.int(p.partitions)}`),
        h("td", {}, fmt.ago(p.last_ago_ms)),
        h("td", { class: stale ? "slow" : "" }, fmt.ago(p.oldest_success_ago_ms)),
        h("td", { class: "num" }, fmt.int(p.repaired)),
        h("td", { class: "num" + (p.failing ? " bad" : "") }, fmt.int(p.failing)),
        p.last_error ? errCell(p.last_error) : h("td", { class: "muted" }, "—")));
    }
  }
  const kids = [];
  if (rows.length) {
    kids.push(h("table", { class: "grid compact" },
      h("thead", {}, h("tr", {}, ["Pair", "Shared partitions", "Exchanged", "Last exchange",
        "Least recently in sync", "Keys repaired", "Failing", "Last error"].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows)));
  } else {
    kids.push(h("div", { class: "empty" }, "No exchanges yet."));
  }
  if (off) kids.push(h("p", { class: "muted" }, `${off} node(s) run without anti-entropy.`));
  fill("aae", kids);
}

// ---------- polling ----------

function setStatus(cls, text) {
  fill("status", h("span", { class: "dot " + cls }), text);
}

function render(state) {
  const colors = colorOf(state.members);
  fill("meta", "served by ", h("b", {}, state.node), " · ring version ", h("b", {}, ringVersion(state)),
    " · ", h("b", {}, String(state.partitions)), " partitions, N=", h("b", {}, String(state.replicas)));
  renderKPIs(state);
  renderMembers(state, colors);
  renderRing(state, colors);
  renderTransfers(state);
  renderHints(state);
  renderAAE(state);
  const unreachable = state.members.filter((m) => !summaryOf(state, m.id)).length;
  setStatus(unreachable ? "wait" : "up", unreachable
    ? `live · ${unreachable} node(s) not answering · ${new Date(state.time_ms).toLocaleTimeString()}`
    : `live · updated ${new Date(state.time_ms).toLocaleTimeString()}`);
  document.body.dataset.rendered = "1";
}

function showLogin(why) {
  document.getElementById("main").hidden = true;
  document.getElementById("login").hidden = false;
  fill("login-why", why);
  setStatus("down", "not authorized");
}

async function poll() {
  const headers = { Accept: "application/json" };
  try {
    const resp = await fetch("/v1/ui/state", { headers, credentials: "same-origin", cache: "no-store" });
    const body = await resp.json().catch(() => ({}));
    if (resp.status === 401 || resp.status === 403) {
      showLogin(`The node answered ${resp.status}: ${body.error || resp.statusText}.`);
      return; // polling resumes when a token is given
    }
    if (!resp.ok) throw new Error(`HTTP ${resp.status}: ${body.error || resp.statusText}`);
    document.getElementById("login").hidden = true;
    document.getElementById("main").hidden = false;
    lastOK = Date.now();
    render(body);
  } catch (e) {
    const since = lastOK ? ` (last update ${fmt.dur(Date.now() - lastOK)} ago)` : "";
    setStatus("down", `cannot reach this node: ${e.message}${since}`);
  }
  setTimeout(poll, POLL_MS);
}

// A token given here goes to /ui/?token=, which keeps it in the
// dashboard's cookie and reloads the page.
document.getElementById("login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const tok = document.getElementById("login-token").value.trim();
  if (tok) location.assign("/ui/?token=" + encodeURIComponent(tok));
});

poll();
