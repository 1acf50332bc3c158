// The front end of sparkbook's live widgets: it only draws the model's state
// (jobs, stages, executors), which the kernel refreshes while a cell runs.

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

function progress(stage) {
  const bar = el("div", "sb-bar");
  const total = Math.max(stage.num_tasks, 1);
  for (const [kind, n] of [["done", stage.completed], ["running", stage.active],
                           ["failed", stage.failed]]) {
    const part = el("div", `sb-bar-${kind}`);
    part.style.width = `${(100 * Math.min(n, total)) / total}%`;
    bar.appendChild(part);
  }
  return bar;
}

function stageRow(stage) {
  const row = el("div", `sb-stage sb-status-${stage.status.toLowerCase()}`);
  row.dataset.stageId = stage.id;
  row.appendChild(el("span", "sb-stage-id", `Stage ${stage.id}`));
  row.appendChild(el("span", "sb-stage-name", stage.name));
  row.appendChild(progress(stage));
  const pct = stage.num_tasks ? Math.round((100 * stage.completed) / stage.num_tasks) : 100;
  const counts = `${stage.completed}/${stage.num_tasks}` +
    (stage.active ? ` (+${stage.active} running)` : "") +
    (stage.failed ? `, ${stage.failed} failed` : "") +
    (stage.attempt ? ` · retry ${stage.attempt} after ${stage.earlier_failed} failed` : "");
  row.appendChild(el("span", "sb-stage-tasks", counts));
  row.appendChild(el("span", "sb-stage-pct", `${pct}%`));
  row.appendChild(el("span", "sb-stage-time", `${stage.duration.toFixed(1)} s`));
  const shuffle = [];
  if (stage.shuffle_read) shuffle.push(`read ${bytes(stage.shuffle_read)}`);
  if (stage.shuffle_write) shuffle.push(`write ${bytes(stage.shuffle_write)}`);
  row.appendChild(el("span", "sb-stage-shuffle", shuffle.length ? `shuffle ${shuffle.join(", ")}` : ""));
  const skew = el("span", "sb-stage-skew", stage.skew && stage.skew >= 2 ? `skew: slowest task ${stage.skew}× median` : "");
  if (stage.skew && stage.skew >= 2) skew.classList.add("sb-skewed");
  row.appendChild(skew);
  return row;
}

function sparkline(values) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "sb-spark");
  svg.setAttribute("viewBox", "0 0 120 20");
  const line = document.createElementNS(ns, "polyline");
  const pts = values.map((v, i) => `${i},${20 - Math.min(v, 100) / 5}`).join(" ");
  line.setAttribute("points", pts);
  svg.appendChild(line);
  return svg;
}

function executorPanel(executors) {
  const panel = el("div", "sb-executors");
  panel.appendChild(el("div", "sb-heading", "Executors"));
  for (const ex of executors) {
    const row = el("div", `sb-executor${ex.alive ? "" : " sb-dead"}`);
    row.dataset.executorId = ex.id;
    row.appendChild(el("span", "sb-ex-id", `executor ${ex.id}`));
    row.appendChild(el("span", "sb-ex-pid", ex.alive ? `pid ${ex.pid}` : "lost"));
    row.appendChild(el("span", "sb-ex-cpu", `CPU ${ex.cpu.toFixed(0)}%`));
    row.appendChild(sparkline(ex.cpu_history));
    const mem = el("div", "sb-mem");
    const used = el("div", "sb-mem-used");
    used.style.width = `${ex.memory_limit ? (100 * ex.memory_used) / ex.memory_limit : 0}%`;
    mem.appendChild(used);
    row.appendChild(mem);
    row.appendChild(el("span", "sb-ex-mem", `${bytes(ex.memory_used)} / ${bytes(ex.memory_limit)} · RSS ${bytes(ex.rss)}`));
    row.appendChild(el("span", "sb-ex-tasks", `tasks: ${ex.active} active, ${ex.completed} done, ${ex.failed} failed`));
    panel.appendChild(row);
  }
  return panel;
}

function draw(model, root) {
  const mode = model.get("mode");
  const jobs = model.get("jobs");
  const stages = model.get("stages");
  root.replaceChildren();
  root.dataset.status = model.get("status");
  root.dataset.updates = model.get("updates");
  if (mode === "cell") {
    const title = model.get("title");
    root.appendChild(el("div", "sb-heading", title || `Spark jobs (${model.get("status")})`));
    if (!jobs.length) root.appendChild(el("div", "sb-empty", "no Spark jobs yet"));
    for (const job of jobs) {
      const box = el("div", `sb-job sb-status-${job.status.toLowerCase()}`);
      box.dataset.jobId = job.id;
      box.appendChild(el("div", "sb-job-title", `Job ${job.id}: ${job.name} — ${job.status.toLowerCase()}, ${job.duration.toFixed(1)} s`));
      for (const stage of stages.filter((s) => s.job_id === job.id)) box.appendChild(stageRow(stage));
      root.appendChild(box);
    }
  }
  root.appendChild(executorPanel(model.get("executors")));
}

export default {
  render({ model, el: host }) {
    const root = el("div", "sparkbook-widget");
    host.appendChild(root);
    const redraw = () => draw(model, root);
    for (const name of ["jobs", "stages", "executors", "status", "mode", "title"]) {
      model.on(`change:${name}`, redraw);
    }
    redraw();
  },
};
