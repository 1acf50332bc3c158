// The front end of sparkbook's live widgets. It only draws the model's state (jobs,
// stages with their DAG, tasks, executors, shuffles), which the kernel refreshes while
// a cell runs. jobview.py joins these files in one module: this one first.

const SVG_NS = "http://www.w3.org/2000/svg";

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function tip(node, text) {
  node.appendChild(svg("title", {}, text));
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  n = n || 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function count(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : `${n}`;
}

// One colour per stage, none of them red (red is for failures); readable on light and
// dark backgrounds.
const STAGE_COLORS = ["#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948",
                      "#9c755f", "#8cd17d", "#a0cbe8", "#d4a6c8"];

function stageColor(stageId) {
  return STAGE_COLORS[stageId % STAGE_COLORS.length];
}
