// The stage DAG: a box per stage, left to right by dependency depth, arrows from the
// stages it reads labelled with the shuffle's bytes and records.

const BOX_W = 170, GAP_X = 104, GAP_Y = 22, LINE = 13;

function depths(stages) {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const memo = new Map();
  const depth = (s, seen) => {
    if (memo.has(s.id)) return memo.get(s.id);
    if (seen.has(s.id)) return 0;  // a cycle cannot happen; never loop on bad data
    seen.add(s.id);
    const ps = (s.parents || []).filter((p) => byId.has(p));
    const d = ps.length ? 1 + Math.max(...ps.map((p) => depth(byId.get(p), seen))) : 0;
    memo.set(s.id, d);
    return d;
  };
  for (const s of stages) depth(s, new Set());
  return memo;
}

function stageArrows(stage) {
  if (stage.edges && stage.edges.length) return stage.edges;
  return (stage.parents || []).map((p) => ({ from: p }));
}

function stageBox(stage, x, y, h) {
  const status = (stage.status || "PENDING").toLowerCase();
  const g = svg("g", { class: `sb-dag-box sb-status-${status}`, "data-stage-id": stage.id,
                       transform: `translate(${x},${y})` });
  g.appendChild(svg("rect", { class: "sb-box-bg", width: BOX_W, height: h, rx: 4 }));
  const total = Math.max(stage.num_tasks || 0, 1);
  let filled = 0;
  for (const [kind, n] of [["done", stage.completed], ["running", stage.active],
                           ["failed", stage.failed]]) {
    // Failed tasks are retried, so done + failed can pass the total: never overflow.
    const w = Math.min((BOX_W * Math.min(n || 0, total)) / total, BOX_W - filled);
    if (w > 0) g.appendChild(svg("rect", { class: `sb-box-${kind}`, x: filled, width: w, height: h, rx: 4 }));
    filled += w;
  }
  g.appendChild(svg("rect", { class: "sb-box-frame", width: BOX_W, height: h, rx: 4,
                              stroke: stageColor(stage.id) }));
  const pct = stage.num_tasks ? Math.round((100 * (stage.completed || 0)) / stage.num_tasks) : 100;
  const head = svg("text", { class: "sb-box-title", x: 6, y: LINE },
                   `Stage ${stage.id}` + (stage.attempt ? ` (attempt ${stage.attempt})` : ""));
  g.appendChild(head);
  g.appendChild(svg("text", { class: "sb-box-pct", x: BOX_W - 6, y: LINE, "text-anchor": "end" },
                    status === "skipped" ? "skipped" : stage.num_tasks == null ? "? tasks" :
                      stage.completed === undefined ? `${stage.num_tasks} tasks` : `${stage.completed}/${stage.num_tasks || 0} · ${pct}%`));
  const cached = new Set(stage.cached || []);
  const fromCache = new Set(stage.from_cache || []);  // a plan's steps read from the cache
  const steps = stage.steps && stage.steps.length ? stage.steps : [stage.name || ""];
  steps.forEach((step, i) => {
    const t = svg("text", { class: `sb-box-step${cached.has(step) ? " sb-cached" : ""}`,
                            x: 10, y: LINE * (i + 2) + 2 },
                  `${i ? "→ " : ""}${step}${cached.has(step) ? " ●" : ""}`);
    if (cached.has(step)) tip(t, fromCache.has(step) ? `${step} is cached: read, not computed` : `${step} is cached`);
    g.appendChild(t);
  });
  const notes = [];
  if (stage.attempt) notes.push(`retry ${stage.attempt} after ${stage.earlier_failed || 0} failed tasks`);
  if (stage.failed) notes.push(`${stage.failed} failed`);
  if (notes.length) {
    g.appendChild(svg("text", { class: "sb-box-retry", x: 6, y: h - 4 }, notes.join(", ")));
  }
  tip(g, `Stage ${stage.id}: ${stage.name || ""}\n${stage.num_tasks == null ? "tasks set when it runs" : `${stage.num_tasks} tasks`}, ${status}` +
      (stage.shuffle_read ? `\nshuffle read ${bytes(stage.shuffle_read)}` : "") +
      (stage.shuffle_write ? `\nshuffle write ${bytes(stage.shuffle_write)}` : ""));
  return g;
}

function boxHeight(stage) {
  const steps = stage.steps && stage.steps.length ? stage.steps.length : 1;
  return LINE * (steps + 1) + 10 + (stage.attempt || stage.failed ? LINE : 0);
}

function dagPicture(stages) {
  const wrap = el("div", "sb-dag");
  const depth = depths(stages);
  const columns = [];
  for (const s of stages) (columns[depth.get(s.id)] ||= []).push(s);
  const place = new Map();
  let height = 0;
  columns.forEach((col, d) => {
    let y = 6;
    for (const s of col || []) {
      const h = boxHeight(s);
      const warn = (s.warnings || []).length ? LINE + 4 : 0;
      place.set(s.id, { x: 6 + d * (BOX_W + GAP_X), y, h });
      y += h + warn + GAP_Y;
    }
    height = Math.max(height, y);
  });
  const width = 12 + columns.length * (BOX_W + GAP_X) - GAP_X;
  const pic = svg("svg", { class: "sb-dag-svg", width, height, viewBox: `0 0 ${width} ${height}` });
  const defs = svg("defs");
  const marker = svg("marker", { id: "sb-arrow", viewBox: "0 0 10 10", refX: 9, refY: 5,
                                 markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "sb-arrow-head" }));
  defs.appendChild(marker);
  pic.appendChild(defs);
  for (const s of stages) {
    const to = place.get(s.id);
    const arrows = stageArrows(s).filter((edge) => place.has(edge.from));
    arrows.forEach((edge, k) => {
      const from = place.get(edge.from);
      // Several arrows into one box enter it at points spread down its left side.
      const x1 = from.x + BOX_W, y1 = from.y + from.h / 2, x2 = to.x;
      const y2 = to.y + ((k + 1) * to.h) / (arrows.length + 1);
      const g = svg("g", { class: "sb-dag-edge", "data-from": edge.from, "data-to": s.id });
      const mid = (x1 + x2) / 2;
      g.appendChild(svg("path", { d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2 - 2} ${y2}`,
                                  class: "sb-edge-line", "marker-end": "url(#sb-arrow)" }));
      if (edge.bytes != null) {  // a plan's edge of a shuffle not yet written has none
        const label = `${bytes(edge.bytes)} · ${count(edge.records || 0)} rec`;
        // In the gap before the box it enters: an arrow across columns passes other boxes.
        g.appendChild(svg("text", { class: "sb-edge-label", x: x2 - GAP_X / 2, y: y2 - 4,
                                    "text-anchor": "middle" }, label));
        tip(g, `shuffle ${edge.shuffle_id}: stage ${edge.from} → stage ${s.id}, ` +
            `${edge.bytes} bytes, ${edge.records} records`);
      }
      pic.appendChild(g);
    });
  }
  for (const s of stages) {
    const p = place.get(s.id);
    pic.appendChild(stageBox(s, p.x, p.y, p.h));
    const warnings = s.warnings || [];
    if (warnings.length) {
      const w = svg("text", { class: "sb-box-warning", x: p.x + 4, y: p.y + p.h + LINE },
                    `⚠ ${warnings[0].length > 30 ? warnings[0].slice(0, 29) + "…" : warnings[0]}`);
      pic.appendChild(tip(w, warnings.join("\n")));
    }
  }
  wrap.appendChild(pic);
  const listed = stages.filter((s) => (s.warnings || []).length);
  if (listed.length) {
    const list = el("ul", "sb-warnings");
    for (const s of listed) {
      for (const w of s.warnings) list.appendChild(el("li", "sb-warning", `Stage ${s.id}: ${w}`));
    }
    wrap.appendChild(list);
  }
  return wrap;
}
