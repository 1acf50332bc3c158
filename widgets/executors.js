// The executor panel: a row per executor with its cores, its CPU over the last minute, its
// block store's memory used of its limit, its RSS, its tasks and (on Apache Spark) its JVM's
// GC time; a lost one struck through.

const SPARK_W = 120, SPARK_H = 22, SPARK_SLOTS = 120;  // a minute at two heartbeats a second

function sparkline(values) {
  const pic = svg("svg", { class: "sb-spark", width: SPARK_W, height: SPARK_H,
                           viewBox: `0 0 ${SPARK_W} ${SPARK_H}` });
  pic.appendChild(svg("rect", { class: "sb-spark-bg", width: SPARK_W, height: SPARK_H }));
  const slots = Math.max(SPARK_SLOTS, values.length);
  const dx = SPARK_W / (slots - 1);
  const first = slots - values.length;
  const pts = values.map((v, i) => [(first + i) * dx, SPARK_H - 1 - ((SPARK_H - 2) * Math.min(v, 100)) / 100]);
  if (pts.length) {
    const line = pts.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
    const area = `${line} L${pts[pts.length - 1][0].toFixed(1)},${SPARK_H} L${pts[0][0].toFixed(1)},${SPARK_H} Z`;
    pic.appendChild(svg("path", { class: "sb-spark-area", d: area }));
    pic.appendChild(svg("path", { class: "sb-spark-line", d: line }));
  }
  return tip(pic, `CPU over the last minute (${values.length} samples)`);
}

function memoryBar(used, limit) {
  const mem = el("div", "sb-mem");
  const fill = el("div", "sb-mem-used");
  fill.style.width = `${limit ? Math.min(100, (100 * used) / limit) : 0}%`;
  mem.appendChild(fill);
  mem.title = `block store: ${bytes(used)} used of ${bytes(limit)}`;
  return mem;
}

function executorPanel(executors) {
  const panel = el("div", "sb-executors");
  panel.appendChild(el("div", "sb-heading", "Executors"));
  for (const ex of executors) {
    const row = el("div", `sb-executor${ex.alive ? "" : " sb-lost"}`);
    row.dataset.executorId = ex.id;
    row.appendChild(el("span", "sb-ex-id", `executor ${ex.id}`));
    // Spark's executors are JVMs the REST API names by host, not by pid.
    const where = ex.pid == null ? ex.host || "" : `pid ${ex.pid}`;
    row.appendChild(el("span", "sb-ex-pid", ex.alive ? where : "lost"));
    const cores = ex.cores || 0;
    row.appendChild(el("span", "sb-ex-cores", `${cores} core${cores === 1 ? "" : "s"}`));
    row.appendChild(el("span", "sb-ex-cpu", `CPU ${(ex.cpu || 0).toFixed(0)}%`));
    row.appendChild(sparkline(ex.cpu_history || []));
    row.appendChild(memoryBar(ex.memory_used, ex.memory_limit));
    row.appendChild(el("span", "sb-ex-mem", `store ${bytes(ex.memory_used)} / ${bytes(ex.memory_limit)} · RSS ${bytes(ex.rss)}`));
    row.appendChild(el("span", "sb-ex-tasks", `tasks: ${ex.active} active, ${ex.completed} done, ${ex.failed} failed`));
    // A sparkbook executor has no JVM: its GC time is 0, and not drawn.
    if (ex.gc_time > 0) {
      const gc = el("span", "sb-ex-gc", `GC ${ex.gc_time.toFixed(1)} s`);
      gc.title = "time the executor's JVM spent in garbage collection";
      row.appendChild(gc);
    }
    panel.appendChild(row);
    if (!ex.alive) panel.appendChild(el("div", "sb-ex-lost-reason", `executor ${ex.id} lost: ${ex.lost_reason || "no reason given"}`));
  }
  return panel;
}
