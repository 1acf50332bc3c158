// The shuffle matrix: for each shuffle, the bytes each map executor wrote for each reduce
// partition as a heat map (records in the tooltip), with its hot keys and a hint on skew.

const CELL_H = 16, ROW_LABEL_W = 86, HOT_KEYS_SHOWN = 4;

function shuffleMatrix(sh) {
  const wrap = el("div", "sb-shuffle");
  wrap.dataset.shuffleId = sh.shuffle_id;
  const reduce = (sh.reduce_stages || []).join(", ");
  wrap.appendChild(el("div", "sb-shuffle-title",
    `Shuffle ${sh.shuffle_id}: stage ${sh.map_stage} → stage ${reduce} · ` +
    `${sh.partitions} partitions, ${bytes((sh.partition_bytes || []).reduce((a, b) => a + b, 0))}`));
  // Past a hundred or so partitions a column sums a run of them: columns names each run.
  const runs = sh.columns || null;
  const n = Math.max(runs ? runs.length : sh.partitions || 0, 1);
  const named = (p) => (runs && runs[p][1] - runs[p][0] > 1 ? `partitions ${runs[p][0]}–${runs[p][1] - 1}` : `partition ${runs ? runs[p][0] : p}`);
  const cellW = Math.max(2, Math.min(28, Math.floor(560 / n)));
  const execs = sh.executors || [];
  const unit = sh.records_are || "records";  // an SQL exchange counts the rows it moved
  const max = Math.max(1, ...(sh.bytes || []).flat());
  const height = (execs.length + 1) * CELL_H + 16;
  const pic = svg("svg", { class: "sb-matrix", width: ROW_LABEL_W + n * cellW + 4, height });
  execs.forEach((ex, r) => {
    pic.appendChild(svg("text", { class: "sb-matrix-label", x: 2, y: r * CELL_H + 12 }, `executor ${ex}`));
    for (let p = 0; p < n; p++) {
      const b = ((sh.bytes || [])[r] || [])[p] || 0;
      const recs = ((sh.records || [])[r] || [])[p] || 0;
      const cell = svg("rect", { class: "sb-matrix-cell", x: ROW_LABEL_W + p * cellW, y: r * CELL_H,
                                 width: cellW - (cellW > 4 ? 1 : 0), height: CELL_H - 1,
                                 "fill-opacity": b ? (0.15 + (0.85 * b) / max).toFixed(3) : 0.04 });
      pic.appendChild(tip(cell, `executor ${ex} → ${named(p)}: ${bytes(b)}, ${recs} ${unit}`));
    }
  });
  // The totals per reduce partition, as a bar row under the matrix: skew shows here.
  const totals = sh.partition_bytes || [];
  const maxTotal = Math.max(1, ...totals);
  const y0 = execs.length * CELL_H + 2;
  pic.appendChild(svg("text", { class: "sb-matrix-label", x: 2, y: y0 + 12 }, "per partition"));
  totals.forEach((b, p) => {
    const h = Math.max(1, ((CELL_H - 2) * b) / maxTotal);
    const bar = svg("rect", { class: "sb-matrix-total", x: ROW_LABEL_W + p * cellW, y: y0 + CELL_H - h,
                              width: Math.max(cellW - 1, 1), height: h });
    pic.appendChild(tip(bar, `${named(p)}: ${bytes(b)}, ${(sh.partition_records || [])[p] || 0} ${unit}`));
  });
  pic.appendChild(svg("text", { class: "sb-matrix-label", x: ROW_LABEL_W, y: height - 2 },
                      `reduce partitions 0…${(sh.partitions || 1) - 1}` + (runs ? ` (${n} columns)` : "")));
  wrap.appendChild(pic);
  if ((sh.hot_keys || []).length) {
    // The top few on one line; the whole list in the tooltip.
    const line = el("div", "sb-hot-keys", "hot keys (sampled on the map side): ");
    for (const [key, recs, frac] of sh.hot_keys.slice(0, HOT_KEYS_SHOWN)) {
      line.appendChild(el("span", "sb-hot-key", `${key} ${recs} ${unit} (${(100 * frac).toFixed(0)} %)`));
    }
    line.title = sh.hot_keys.map(([key, recs, frac]) => `${key}: ${recs} ${unit} (${(100 * frac).toFixed(1)} %)`).join("\n");
    wrap.appendChild(line);
  }
  if (sh.hint) wrap.appendChild(el("div", "sb-hint", sh.hint));
  return wrap;
}
