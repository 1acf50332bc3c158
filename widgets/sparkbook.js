// The widget itself: which pictures a mode shows, redrawn on every state change.

function jobTitle(job) {
  return `Job ${job.id}: ${job.name} — ${job.status.toLowerCase()}, ${job.duration.toFixed(1)} s`;
}

function draw(model, root) {
  const mode = model.get("mode");
  const jobs = model.get("jobs");
  const stages = model.get("stages");
  root.replaceChildren();
  root.dataset.status = model.get("status");
  root.dataset.updates = model.get("updates");
  root.dataset.mode = mode;
  const title = model.get("title");
  if (mode === "plan") {
    root.appendChild(el("div", "sb-heading", title || "Plan (nothing has run)"));
    root.appendChild(dagPicture(stages));
    return;
  }
  if (mode === "cell") {
    root.appendChild(el("div", "sb-heading", title || `Spark jobs (${model.get("status")})`));
    if (!jobs.length) root.appendChild(el("div", "sb-empty", "no Spark jobs yet"));
    const shuffles = model.get("shuffles") || [];
    for (const job of jobs) {
      const box = el("div", `sb-job sb-status-${job.status.toLowerCase()}`);
      box.dataset.jobId = job.id;
      box.appendChild(el("div", "sb-job-title", jobTitle(job)));
      if (job.error) box.appendChild(el("div", "sb-job-error", job.error.split("\n")[0]));
      const mine = stages.filter((s) => s.job_id === job.id);
      box.appendChild(dagPicture(mine));
      const ids = new Set(mine.filter((s) => s.status !== "SKIPPED").map((s) => s.id));
      for (const sh of shuffles.filter((x) => ids.has(x.map_stage))) box.appendChild(shuffleMatrix(sh));
      root.appendChild(box);
    }
    const tasks = model.get("tasks") || [];
    if (tasks.length) root.appendChild(timelinePicture(tasks, model.get("executors"), model.get("now")));
  }
  root.appendChild(executorPanel(model.get("executors")));
}

export default {
  render({ model, el: host }) {
    const root = el("div", "sparkbook-widget");
    host.appendChild(root);
    // One state message changes several keys: draw once for all of them.
    let pending = false;
    const redraw = () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(model, root); });
    };
    for (const name of ["jobs", "stages", "executors", "shuffles", "tasks", "now", "status",
                        "mode", "title"]) {
      model.on(`change:${name}`, redraw);
    }
    draw(model, root);
  },
};
