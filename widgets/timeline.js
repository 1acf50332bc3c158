// The task timeline: a lane per executor core, a bar per task (or per merged group of
// tasks) from launch to end, coloured by stage, on one time axis. A merged bar of mixed
// statuses carries a red stripe as long as its share of failed and killed tasks.

const LANE_H = 14, LABEL_W = 96, AXIS_H = 18, PLOT_W = 640;

function niceStep(span) {
  const raw = span / 6;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) || mag;
}

function timelineLanes(tasks, executors) {
  const lanes = new Map();  // executor id -> number of lanes
  for (const ex of executors) lanes.set(ex.id, Math.max(ex.cores || 1, 1));
  for (const t of tasks) lanes.set(t.executor, Math.max(lanes.get(t.executor) || 1, t.lane + 1));
  return lanes;
}

function taskTip(t, end) {
  const kinds = t.statuses ? " (" + Object.entries(t.statuses).map(([s, n]) => `${n} ${s.toLowerCase()}`).join(", ") + ")" : "";
  const what = t.count ? `${t.count} tasks of stage ${t.stage}${kinds}` :
    `stage ${t.stage} task ${t.index}` + (t.attempt ? ` (attempt ${t.attempt})` : "") +
    (t.stage_attempt ? ` of stage attempt ${t.stage_attempt}` : "");
  return `${what} on executor ${t.executor}, core ${t.lane}: ` +
    `${(end - t.start).toFixed(3)} s, ${t.status.toLowerCase()}` + (t.speculative ? ", speculative" : "");
}

function timelinePicture(tasks, executors, now) {
  const wrap = el("div", "sb-timeline");
  wrap.appendChild(el("div", "sb-heading", "Tasks by executor core"));
  const lanes = timelineLanes(tasks, executors);
  const rows = new Map();
  let row = 0;
  for (const [id, n] of lanes) { rows.set(id, row); row += n; }
  const span = Math.max(now || 0, ...tasks.map((t) => t.end ?? now ?? 0), 0.001);
  const x = (t) => LABEL_W + (PLOT_W * t) / span;
  const height = row * LANE_H + AXIS_H + 4;
  const pic = svg("svg", { class: "sb-timeline-svg", width: LABEL_W + PLOT_W + 10, height });
  const dead = new Set(executors.filter((e) => !e.alive).map((e) => e.id));
  for (const [id, n] of lanes) {
    for (let lane = 0; lane < n; lane++) {
      const y = (rows.get(id) + lane) * LANE_H;
      pic.appendChild(svg("rect", { class: "sb-lane", x: LABEL_W, y, width: PLOT_W, height: LANE_H - 2 }));
      pic.appendChild(svg("text", { class: `sb-lane-label${dead.has(id) ? " sb-dead" : ""}`, x: 2, y: y + LANE_H - 4 },
                          n > 1 ? `executor ${id} · ${lane}` : `executor ${id}`));
    }
  }
  const marks = [];
  for (const t of tasks) {
    const end = t.end ?? now ?? t.start;
    const y = (rows.get(t.executor) + t.lane) * LANE_H;
    const cls = ["sb-task", `sb-task-${t.status.toLowerCase()}`];
    if (t.attempt || t.stage_attempt) cls.push("sb-task-retry");  // a retried task or stage
    if (t.speculative) cls.push("sb-task-speculative");
    if (t.count) cls.push("sb-task-merged");
    const bar = svg("rect", { class: cls.join(" "), x: x(t.start), y: y + 1,
                              width: Math.max(x(end) - x(t.start), 1), height: LANE_H - 4,
                              fill: stageColor(t.stage), "data-stage": t.stage });
    pic.appendChild(tip(bar, taskTip(t, end)));
    const failed = ((t.statuses || {}).FAILED || 0) + ((t.statuses || {}).KILLED || 0);
    if (t.status === "MIXED" && failed) {
      // A merged bar's failed and killed share, as a red stripe along its foot.
      marks.push(tip(svg("rect", { class: "sb-task-failures", x: x(t.start), y: y + LANE_H - 5,
                                   width: Math.max(((x(end) - x(t.start)) * failed) / t.count, 1), height: 2 }),
                     taskTip(t, end)));
    }
    if (t.status === "FAILED" || t.status === "KILLED") {
      marks.push(tip(svg("text", { class: `sb-task-mark sb-mark-${t.status.toLowerCase()}`,
                                   x: (x(t.start) + x(end)) / 2, y: y + LANE_H - 3, "text-anchor": "middle" },
                         t.status === "FAILED" ? "✕" : "⊘"), taskTip(t, end)));
    }
  }
  for (const mark of marks) pic.appendChild(mark);
  const step = niceStep(span);
  const axisY = row * LANE_H + 2;
  pic.appendChild(svg("line", { class: "sb-axis", x1: LABEL_W, x2: LABEL_W + PLOT_W, y1: axisY, y2: axisY }));
  for (let t = 0; t <= span + 1e-9; t += step) {
    pic.appendChild(svg("line", { class: "sb-axis", x1: x(t), x2: x(t), y1: axisY, y2: axisY + 4 }));
    pic.appendChild(svg("text", { class: "sb-axis-label", x: x(t), y: axisY + 14, "text-anchor": "middle" },
                        `${+t.toFixed(3)} s`));
  }
  wrap.appendChild(pic);
  const legend = el("div", "sb-legend");
  for (const stage of [...new Set(tasks.map((t) => t.stage))].sort((a, b) => a - b)) {
    const item = el("span", "sb-legend-item", `stage ${stage}`);
    item.style.setProperty("--sb-swatch", stageColor(stage));
    legend.appendChild(item);
  }
  if (tasks.some((t) => t.count)) legend.appendChild(el("span", "sb-legend-note", "many tasks: consecutive tasks of a stage are merged per core"));
  wrap.appendChild(legend);
  return wrap;
}
